// Minimal MCP clients for benchmarks: raw JSON-RPC over stdio (NDJSON) or Streamable HTTP
// (node:http with a keep-alive agent, JSON or SSE responses). The SDK client spends more CPU per
// call than the proxies under test do, which would drown sub-millisecond differences; these
// clients do only framing, one JSON.parse per reply and an id lookup.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { Agent, request } from "node:http";

export const BENCH_PROTOCOL_VERSION = "2025-06-18";

type Json = Record<string, unknown>;
interface Reply {
  id?: unknown;
  result?: Json;
  error?: { code: number; message: string };
}

export interface RawClient {
  /** Sends a request and resolves with its result (rejects on a JSON-RPC error). */
  call(method: string, params: Json): Promise<Json>;
  close(): Promise<void>;
  pid?: number;
}

const INITIALIZE = {
  protocolVersion: BENCH_PROTOCOL_VERSION,
  capabilities: {},
  clientInfo: { name: "warden-bench-raw", version: "1.0.0" },
};

function settle(reply: Reply, resolve: (r: Json) => void, reject: (e: Error) => void): void {
  if (reply.error) reject(new Error(`JSON-RPC error ${reply.error.code}: ${reply.error.message}`));
  else resolve(reply.result ?? {});
}

/** Spawns `command` and speaks NDJSON JSON-RPC on its stdin/stdout; performs the MCP handshake. */
export async function rawStdioClient(
  command: string,
  args: string[],
  cwd: string,
): Promise<RawClient & { stderr: () => string }> {
  const child: ChildProcessWithoutNullStreams = spawn(command, args, {
    cwd,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const pending = new Map<number, { resolve: (r: Json) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString("utf8")).slice(-4000);
  });
  let buffered: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      buffered.push(chunk.subarray(start, nl));
      const line =
        buffered.length === 1 ? buffered[0].toString("utf8") : Buffer.concat(buffered).toString("utf8");
      buffered = [];
      start = nl + 1;
      if (line.trim() === "") continue;
      const reply = JSON.parse(line) as Reply;
      const waiter = typeof reply.id === "number" ? pending.get(reply.id) : undefined;
      if (waiter && ("result" in reply || "error" in reply)) {
        pending.delete(reply.id as number);
        settle(reply, waiter.resolve, waiter.reject);
      }
    }
    if (start < chunk.length) buffered.push(chunk.subarray(start));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", (code) => {
    for (const waiter of pending.values())
      waiter.reject(new Error(`server exited (${code}): ${stderr.slice(-500)}`));
    pending.clear();
  });
  const send = (message: Json) => child.stdin.write(`${JSON.stringify(message)}\n`);
  const client = {
    pid: child.pid,
    stderr: () => stderr,
    call(method: string, params: Json) {
      const id = nextId++;
      return new Promise<Json>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ jsonrpc: "2.0", id, method, params });
      });
    },
    async close() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGTERM"), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
  await client.call("initialize", INITIALIZE);
  send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return client;
}

/** Extracts the JSON-RPC reply with `id` from an SSE body (`data:` lines) or a JSON body. */
function findReply(body: string, sse: boolean, id: number): Reply | undefined {
  if (!sse) {
    const parsed = JSON.parse(body) as Reply | Reply[];
    return Array.isArray(parsed) ? parsed.find((m) => m.id === id) : parsed;
  }
  for (const event of body.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(l[5] === " " ? 6 : 5))
      .join("\n");
    if (!data) continue;
    const message = JSON.parse(data) as Reply;
    if (message.id === id) return message;
  }
  return undefined;
}

/** Streamable HTTP client over one keep-alive agent; performs the MCP handshake. */
export async function rawHttpClient(url: string): Promise<RawClient> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let sessionId: string | undefined;
  let nextId = 1;
  const post = (message: Json) =>
    new Promise<{ status: number; body: string; sse: boolean; session?: string }>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(message));
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            "content-length": payload.length,
            "mcp-protocol-version": BENCH_PROTOCOL_VERSION,
            ...(sessionId && { "mcp-session-id": sessionId }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString("utf8"),
              sse: String(res.headers["content-type"]).startsWith("text/event-stream"),
              session: res.headers["mcp-session-id"] as string | undefined,
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  const call = async (method: string, params: Json) => {
    const id = nextId++;
    const res = await post({ jsonrpc: "2.0", id, method, params });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    if (res.session) sessionId = res.session;
    const reply = findReply(res.body, res.sse, id);
    if (!reply) throw new Error(`no reply for request ${id} in: ${res.body.slice(0, 300)}`);
    return new Promise<Json>((resolve, reject) => settle(reply, resolve, reject));
  };
  await call("initialize", INITIALIZE);
  const initialized = await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  if (initialized.status >= 300) throw new Error(`notifications/initialized: HTTP ${initialized.status}`);
  return {
    call,
    async close() {
      if (sessionId) {
        await new Promise<void>((resolve) => {
          const req = request(
            {
              host: target.hostname,
              port: target.port,
              path: target.pathname,
              method: "DELETE",
              agent,
              headers: { "mcp-session-id": sessionId, "mcp-protocol-version": BENCH_PROTOCOL_VERSION },
            },
            (res) => res.resume().on("end", resolve),
          );
          req.on("error", () => resolve());
          req.end();
        });
      }
      agent.destroy();
    },
  };
}
