// Runs warden from a config file in its own process, like `warden serve` does, for benchmarks
// (and as a fallback while the CLI's serve command is not available):
//   warden-child.ts --config F            stdio front door on this process's stdin/stdout
//   warden-child.ts --config F --http     Streamable HTTP on 127.0.0.1, prints `listening URL`
import { createWarden } from "../../src/server/warden.js";

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf("--config");
  if (i < 0 || !argv[i + 1]) throw new Error("usage: warden-child --config FILE [--http]");
  // stdout carries MCP in stdio mode: keep warden's log on stderr, quiet by default.
  const verbose = process.env.WARDEN_BENCH_LOG === "1";
  const warden = await createWarden({
    config: argv[i + 1],
    log: (level, message) => {
      if (verbose || level === "error") process.stderr.write(`[warden ${level}] ${message}\n`);
    },
  });
  const shutdown = () => void warden.close().then(() => process.exit(0));
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  if (argv.includes("--http")) {
    const door = await warden.listenHttp({ host: "127.0.0.1", port: 0 });
    process.stdout.write(`listening ${new URL("/mcp", door.url).href}\n`);
    return;
  }
  await warden.serveStdio().done;
  await warden.close();
  process.exit(0);
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`warden-child: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
