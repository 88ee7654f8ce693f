// npm run bench:http-server [-- --rounds 8] [--calls 3000]
//
// What Node's HTTP/1.1 server costs per request, next to the least a server could do: two child
// processes answer the same canned reply (the size and headers of warden's answer to a 64 B echo
// call) to the same keep-alive POSTs from the bench's raw HTTP client — one a minimal
// `node:http` server (reads the body, writeHead + end), one a minimal `node:net` server (finds
// the end of the head, reads Content-Length, writes the reply bytes). Rounds interleave the two;
// each reports p50 and the server's CPU per request (/proc, 10 ms ticks). Medians are printed last.
import { Agent, createServer as createHttpServer, request } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { REPO_ROOT, startChild, tsNode, waitForOutput } from "../test/fixtures/servers/child-process.js";
import { processCpuMs } from "./lib/cpu.js";
import { median } from "./lib/stats.js";

const REPLY_BODY = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  result: { content: [{ type: "text", text: "x".repeat(64) }], isError: false },
});
const SESSION = "0b7c7e44-3a1f-4f39-9a3c-2f6e5b1a9c10";

function serveHttp(): void {
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(REPLY_BODY),
        "mcp-session-id": SESSION,
      });
      res.end(REPLY_BODY);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, "127.0.0.1", () => announce(server.address()));
}

function serveNet(): void {
  const reply = Buffer.from(
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(REPLY_BODY)}\r\nmcp-session-id: ${SESSION}\r\nDate: ${new Date().toUTCString()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\n\r\n${REPLY_BODY}`,
  );
  const server = createNetServer((socket) => {
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = pending.toString("latin1", 0, end);
        const m = /\r\ncontent-length: *(\d+)/i.exec(head);
        const total = end + 4 + (m ? Number(m[1]) : 0);
        if (pending.length < total) return;
        pending = pending.subarray(total);
        socket.write(reply);
      }
    });
    socket.on("error", () => socket.destroy());
  });
  server.listen(0, "127.0.0.1", () => announce(server.address()));
}

function announce(address: unknown): void {
  const port = (address as { port: number }).port;
  process.stdout.write(`listening http://127.0.0.1:${port}/mcp\n`);
}

/** One keep-alive POST shaped like the bench client's tools/call. */
function post(agent: Agent, url: URL, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "content-length": body.length,
          "mcp-protocol-version": "2025-06-18",
          "mcp-session-id": SESSION,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200 || text !== REPLY_BODY) reject(new Error(`bad reply ${res.statusCode}`));
          else resolve();
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function intArg(argv: string[], flag: string, fallback: number): number {
  const i = argv.indexOf(flag);
  const v = Number(i >= 0 ? argv[i + 1] : fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} takes a positive whole number`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const rounds = intArg(argv, "--rounds", 8);
  const calls = intArg(argv, "--calls", 3000);
  const body = Buffer.from(
    JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "bench__echo", arguments: { text: "x".repeat(64) } },
    }),
  );
  const kinds = ["node:http", "node:net"] as const;
  const self = join(REPO_ROOT, "bench/http-server.bench.ts");
  const servers = kinds.map((k) => {
    const cmd = tsNode(self, ["--serve", k === "node:http" ? "http" : "net"]);
    return startChild(cmd.command, cmd.args);
  });
  try {
    const urls = await Promise.all(
      servers.map(async (s) => new URL((await waitForOutput(s, /listening (http:\/\/\S+)/))[1])),
    );
    const agents = kinds.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
    for (const [i] of kinds.entries()) for (let k = 0; k < 5000; k++) await post(agents[i], urls[i], body);
    const results = kinds.map((): { p50: number; cpu: number }[] => []);
    for (let r = 1; r <= rounds; r++) {
      for (const [i, kind] of kinds.entries()) {
        const pid = servers[i].child.pid as number;
        const before = processCpuMs(pid) as number;
        const latencies: number[] = [];
        for (let k = 0; k < calls; k++) {
          const t0 = process.hrtime.bigint();
          await post(agents[i], urls[i], body);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        const cpu = ((processCpuMs(pid) as number) - before) / calls;
        results[i].push({ p50: median(latencies), cpu });
        process.stderr.write(
          `round ${r} ${kind}: p50 ${median(latencies).toFixed(3)} ms, CPU ${(cpu * 1000).toFixed(1)} µs/request\n`,
        );
      }
    }
    for (const a of agents) a.destroy();
    const lines = [
      "| server | p50 ms (median of rounds) | CPU µs/request (median) | per round |",
      "|---|---:|---:|---|",
    ];
    for (const [i, kind] of kinds.entries()) {
      const rs = results[i];
      lines.push(
        `| ${kind} | ${median(rs.map((x) => x.p50)).toFixed(3)} | ${(median(rs.map((x) => x.cpu)) * 1000).toFixed(1)} | ${rs.map((x) => (x.cpu * 1000).toFixed(1)).join(" ")} |`,
      );
    }
    process.stdout.write(
      `\n## HTTP server cost per request (${rounds} rounds × ${calls} keep-alive POSTs each; Node ${process.version})\n\n${lines.join("\n")}\n`,
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const serve = process.argv.indexOf("--serve");
if (serve >= 0) {
  // A clean exit on SIGTERM (so `--cpu-prof` can write its profile).
  process.on("SIGTERM", () => process.exit(0));
  if (process.argv[serve + 1] === "http") serveHttp();
  else serveNet();
} else {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`bench:http-server failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
