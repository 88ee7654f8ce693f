// `warden tools approve|list-pins`: manage the pinned tool definitions (rug-pull protection).
// The proxy re-reads the pin file on every tools/list, so an approval takes effect without restart.
import type { Command } from "commander";
import { PinStore } from "../../scan/pins.js";

interface PinOpts {
  env?: string;
  stateDir: string;
  json?: boolean;
}

const envOf = (o: PinOpts) => o.env ?? process.env.WARDEN_ENV ?? "dev";

export function register(program: Command): void {
  const tools = program.command("tools").description("pinned tool definitions (rug-pull protection)");
  const common = (c: Command) =>
    c
      .option("-e, --env <name>", "environment (default: $WARDEN_ENV, then dev)")
      .option(
        "--state-dir <dir>",
        "directory holding tool-pins.json",
        process.env.WARDEN_STATE_DIR ?? ".warden",
      );

  common(
    tools
      .command("approve")
      .description("accept the changed definition of a tool so it is listed again")
      .argument("<server>", "downstream server name")
      .argument("<tool>", "tool name as the server lists it"),
  ).action((server: string, tool: string, opts: PinOpts) => {
    try {
      const pin = new PinStore(opts.stateDir).approve(envOf(opts), server, tool);
      process.stdout.write(
        `approved ${server}/${tool} in ${envOf(opts)} (sha256 ${pin.hash.slice(0, 12)}…)\n`,
      );
    } catch (e) {
      process.stderr.write(`warden tools approve: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  });

  common(tools.command("list-pins").description("list pinned tools and pending changes"))
    .option("--json", "print JSON")
    .action((opts: PinOpts) => {
      try {
        const rows = new PinStore(opts.stateDir).list(opts.env);
        if (opts.json) {
          const out = rows.map(({ env, server, tool, pin }) => ({
            env,
            server,
            tool,
            hash: pin.hash,
            pinnedAt: pin.pinnedAt,
            pending: pin.pending ? { hash: pin.pending.hash, seenAt: pin.pending.seenAt } : undefined,
          }));
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) process.stdout.write("no pinned tools\n");
        for (const { env, server, tool, pin } of rows) {
          const state = pin.pending
            ? `CHANGED (pending ${pin.pending.hash.slice(0, 12)}…, hidden until approved)`
            : "ok";
          process.stdout.write(`${env}\t${server}/${tool}\t${pin.hash.slice(0, 12)}…\t${state}\n`);
        }
      } catch (e) {
        process.stderr.write(`warden tools list-pins: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
