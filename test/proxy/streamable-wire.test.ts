// The lean Streamable HTTP client (src/upstream/streamable-wire.ts) against real SDK servers on
// 127.0.0.1: SSE and JSON answer modes, the protocol version header, server→client requests on
// a POST stream, notifications on the GET stream, a forgotten session (404) and DELETE on close.
import { randomUUID } from "node:crypto";
import {
  createServer,
  type Server as HttpServer,
  type IncomingHttpHeaders,
  type ServerResponse,
} from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { type RemoteServerConfig, serverSchema } from "../../src/config/schema.js";
import { UpstreamConnection } from "../../src/upstream/connection.js";
import { ErrorCodes, type JsonRpcNotification } from "../../src/upstream/jsonrpc.js";
import { RawResult } from "../../src/upstream/ndjson.js";
import { connectStreamableWire, sseParser } from "../../src/upstream/streamable-wire.js";
import { MemoryEventStore } from "../fixtures/servers/memory-event-store.js";

interface Fixture {
  url: string;
  sessions: Map<string, { transport: StreamableHTTPServerTransport; server: Server }>;
  /** The POST response of the last "hang" call. */
  hung(): ServerResponse | undefined;
  seen: Array<{ method: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c();
});

/** `resumable`: an event store (priming events with `retry: 50`), so streams can be resumed with Last-Event-ID. */
async function fixture(json: boolean, resumable = false): Promise<Fixture> {
  const sessions: Fixture["sessions"] = new Map();
  const seen: Fixture["seen"] = [];
  /** The response of the POST being handled (the "break" tool cuts its socket). */
  let lastPost: ServerResponse | undefined;
  let hung: ServerResponse | undefined;
  const makeServer = () => {
    const server = new Server(
      { name: "wire-fixture", version: "1.0.0" },
      { capabilities: { tools: { listChanged: true } } },
    );
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: "echo", inputSchema: { type: "object" } }],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
      const text = String(req.params.arguments?.text ?? "");
      if (req.params.name === "sample") {
        const answer = await server.request(
          { method: "sampling/createMessage", params: { messages: [], maxTokens: 1 } },
          CreateMessageResultSchema,
          { relatedRequestId: extra.requestId },
        );
        return { content: [{ type: "text", text: `sampled: ${(answer.content as { text: string }).text}` }] };
      }
      if (req.params.name === "drop") {
        // The server ends the POST's SSE stream itself (SEP-1699 polling) and answers later.
        extra.closeSSEStream?.();
        await new Promise((r) => setTimeout(r, 150));
        return { content: [{ type: "text", text: `dropped then answered: ${text}` }] };
      }
      if (req.params.name === "hang") {
        hung = lastPost;
        await new Promise(() => {}); // never answers
      }
      if (req.params.name === "poll") {
        // A long call that keeps ending its stream (the client is expected to come back each time).
        for (let i = 0; i < 25; i++) {
          extra.closeSSEStream?.();
          await new Promise((r) => setTimeout(r, 40));
        }
        return { content: [{ type: "text", text: `polled: ${text}` }] };
      }
      if (req.params.name === "break") {
        // The connection breaks under the stream (a proxy or network failure) before the answer.
        const res = lastPost;
        await new Promise((r) => setTimeout(r, 20));
        res?.socket?.destroy();
        await new Promise((r) => setTimeout(r, 100));
        return { content: [{ type: "text", text: `broken then answered: ${text}` }] };
      }
      return { content: [{ type: "text", text: `echo: ${text}` }] };
    });
    return server;
  };
  const http: HttpServer = createServer(async (req, res) => {
    seen.push({ method: req.method ?? "", headers: req.headers });
    if (req.method === "POST") lastPost = res;
    const sid = req.headers["mcp-session-id"] as string | undefined;
    let entry = sid ? sessions.get(sid) : undefined;
    if (sid && !entry) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }),
      );
      return;
    }
    if (!entry) {
      const server = makeServer();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: json,
        ...(resumable && { eventStore: new MemoryEventStore(), retryInterval: 50 }),
        onsessioninitialized: (id) => void sessions.set(id, { transport, server }),
        onsessionclosed: (id) => void sessions.delete(id),
      });
      await server.connect(transport);
      entry = { transport, server };
    }
    await entry.transport.handleRequest(req, res);
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const port = (http.address() as AddressInfo).port;
  const close = async () => {
    for (const { server } of sessions.values()) await server.close().catch(() => {});
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  };
  open.push(close);
  return { url: `http://127.0.0.1:${port}/mcp`, sessions, seen, close, hung: () => hung };
}

async function connect(url: string, notifications: JsonRpcNotification[] = []) {
  const wire = await connectStreamableWire("remote", serverSchema.parse({ url }) as RemoteServerConfig);
  const conn = new UpstreamConnection("remote", wire, {
    async onRequest(req) {
      if (req.method === "sampling/createMessage")
        return { role: "assistant", model: "m", content: { type: "text", text: "from client" } };
      throw new Error(`unexpected ${req.method}`);
    },
    onNotification: (n) => void notifications.push(n),
    onClose: () => {},
  });
  await conn.initialize({ sampling: {} }, 5000);
  open.unshift(() => conn.close());
  return conn;
}

const call = (conn: UpstreamConnection, name: string, text = "", raw = false) =>
  conn.request("tools/call", { name, arguments: { text } }, { timeoutMs: 5000, raw });

const textOfResult = (r: Record<string, unknown>) =>
  ((r instanceof RawResult ? r.parse() : r).content as Array<{ text: string }>)[0].text;

describe("Streamable HTTP downstream client", () => {
  for (const json of [false, true]) {
    it(`calls tools with ${json ? "JSON" : "SSE"} answers, sending session and protocol version headers`, async () => {
      const f = await fixture(json);
      const conn = await connect(f.url);
      expect(conn.serverInfo?.name).toBe("wire-fixture");
      expect(textOfResult(await call(conn, "echo", "hi"))).toBe("echo: hi");
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(conn, "echo", `n${i}`)));
      expect(results.map(textOfResult)).toEqual(Array.from({ length: 20 }, (_, i) => `echo: n${i}`));
      const post = f.seen.filter((s) => s.method === "POST").at(-1);
      expect(post?.headers["mcp-session-id"]).toBe([...f.sessions.keys()][0]);
      expect(post?.headers["mcp-protocol-version"]).toBe(conn.protocolVersion);
    });
  }

  it("hands a success result over as bytes with the raw fast path, id rewritten on the way out", async () => {
    const f = await fixture(false);
    const conn = await connect(f.url);
    const big = "x".repeat(256 * 1024);
    const r = await call(conn, "echo", big, true);
    expect(r).toBeInstanceOf(RawResult);
    const out = JSON.parse((r as unknown as RawResult).withId("client-7").toString("utf8"));
    expect(out.id).toBe("client-7");
    expect(out.result.content[0].text).toBe(`echo: ${big}`);
  });

  it("routes a server→client request made during a call and posts the answer back", async () => {
    const f = await fixture(false);
    const conn = await connect(f.url);
    expect(textOfResult(await call(conn, "sample"))).toBe("sampled: from client");
  });

  it("receives server notifications on the GET stream", async () => {
    const f = await fixture(false);
    const notes: JsonRpcNotification[] = [];
    await connect(f.url, notes);
    await expect.poll(() => f.seen.some((s) => s.method === "GET")).toBe(true);
    // The GET request reached the server; give the SDK a moment to attach the stream.
    const { server } = [...f.sessions.values()][0];
    await expect
      .poll(async () => {
        await server.sendToolListChanged().catch(() => {});
        return notes.some((n) => n.method === "notifications/tools/list_changed");
      })
      .toBe(true);
  });

  it("re-initializes when the server forgot the session (404) and resends the call", async () => {
    const f = await fixture(false);
    const conn = await connect(f.url);
    const first = [...f.sessions.keys()][0];
    f.sessions.clear(); // as if the server restarted
    expect(textOfResult(await call(conn, "echo", "again"))).toBe("echo: again");
    const second = [...f.sessions.keys()];
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first);
  });

  it("resumes a POST stream the server ends before answering (GET + Last-Event-ID after retry:)", async () => {
    const f = await fixture(false, true);
    const conn = await connect(f.url);
    expect(textOfResult(await call(conn, "drop", "a"))).toBe("dropped then answered: a");
    const resume = f.seen.find((s) => s.method === "GET" && s.headers["last-event-id"]);
    expect(resume?.headers["mcp-session-id"]).toBe([...f.sessions.keys()][0]);
    // Calls after a resume still work, answered on their own POST streams.
    expect(textOfResult(await call(conn, "echo", "b"))).toBe("echo: b");
  });

  it("resumes a POST stream whose connection breaks before the answer", async () => {
    const f = await fixture(false, true);
    const conn = await connect(f.url);
    const started = Date.now();
    expect(textOfResult(await call(conn, "break", "c", true))).toBe("broken then answered: c");
    expect(Date.now() - started).toBeLessThan(4000);
    expect(f.seen.some((s) => s.method === "GET" && s.headers["last-event-id"])).toBe(true);
  });

  it("fails at once, not after the timeout, when a broken stream has no event id to resume from", async () => {
    const f = await fixture(false, false);
    const conn = await connect(f.url);
    const started = Date.now();
    await expect(call(conn, "break", "d")).rejects.toMatchObject({
      code: ErrorCodes.Downstream,
      message: expect.stringContaining("no event id to resume it from"),
    });
    expect(Date.now() - started).toBeLessThan(2000); // the call timeout is 5000 ms
    expect(textOfResult(await call(conn, "echo", "e"))).toBe("echo: e");
  });

  it("keeps resuming a stream the server ends again and again, and stops once the call is given up", async () => {
    const f = await fixture(false, true);
    const conn = await connect(f.url);
    const resumes = () => f.seen.filter((s) => s.method === "GET" && s.headers["last-event-id"]).length;
    expect(textOfResult(await call(conn, "poll", "p"))).toBe("polled: p");
    expect(resumes()).toBeGreaterThan(5);
    // A call that times out sends notifications/cancelled: the wire stops coming back for it.
    const slow = conn.request("tools/call", { name: "poll", arguments: { text: "x" } }, { timeoutMs: 200 });
    await expect(slow).rejects.toMatchObject({ message: expect.stringContaining("did not answer") });
    const n = resumes();
    await new Promise((r) => setTimeout(r, 400));
    expect(resumes()).toBeLessThanOrEqual(n + 1); // at most one already under way
  });

  it("closes the POST of a call given up on (timeout), so a server that never answers holds no socket", async () => {
    const f = await fixture(false);
    const conn = await connect(f.url);
    const hanging = conn.request("tools/call", { name: "hang", arguments: {} }, { timeoutMs: 150 });
    await expect(hanging).rejects.toMatchObject({ message: expect.stringContaining("did not answer") });
    await expect.poll(() => f.hung()?.socket?.destroyed ?? f.hung()?.writableEnded).toBe(true);
    expect(textOfResult(await call(conn, "echo", "z"))).toBe("echo: z");
  });

  it("fails a call at once when the connection breaks in the middle of a JSON answer", async () => {
    // A hand-written server: JSON answers; the tools/call answer stops after a few bytes.
    const server = createNetServer((socket) => {
      let seen = "";
      socket.on("data", (d) => {
        seen += d.toString("latin1");
        for (;;) {
          const end = seen.indexOf("\r\n\r\n");
          if (end === -1) return;
          const length = Number(/content-length: (\d+)/i.exec(seen.slice(0, end))?.[1] ?? 0);
          if (seen.length < end + 4 + length) return;
          const body = seen.slice(end + 4, end + 4 + length);
          seen = seen.slice(end + 4 + length);
          const msg = body ? JSON.parse(body) : {};
          if (msg.method === "initialize") {
            const answer = JSON.stringify({
              jsonrpc: "2.0",
              id: msg.id,
              result: {
                protocolVersion: "2025-11-25",
                capabilities: {},
                serverInfo: { name: "raw", version: "1" },
              },
            });
            socket.write(
              `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nmcp-session-id: s1\r\ncontent-length: ${answer.length}\r\n\r\n${answer}`,
            );
          } else if (msg.method === "tools/call") {
            socket.end(
              'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"jsonrpc":',
            );
          } else if (msg.id === undefined) {
            socket.write("HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n");
          } else socket.write("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    open.push(async () => void server.close());
    const conn = await connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
    const started = Date.now();
    await expect(call(conn, "echo", "x")).rejects.toMatchObject({
      code: ErrorCodes.Downstream,
      message: expect.stringContaining("the connection broke before the answer"),
    });
    expect(Date.now() - started).toBeLessThan(2000); // the call timeout is 5000 ms
  });

  it("deletes its session on close", async () => {
    const f = await fixture(false);
    const conn = await connect(f.url);
    expect(f.sessions.size).toBe(1);
    await conn.close();
    expect(f.seen.some((s) => s.method === "DELETE")).toBe(true);
    await expect.poll(() => f.sessions.size).toBe(0);
  });

  it("answers a call with a downstream error when the server is gone", async () => {
    const f = await fixture(true);
    const conn = await connect(f.url);
    await f.close();
    await expect(call(conn, "echo", "x")).rejects.toMatchObject({ code: ErrorCodes.Downstream });
  });
});

describe("sseParser", () => {
  it("splits events across chunk boundaries, joins multi-line data, skips comments, keeps ids", () => {
    const events: Array<[string, string | undefined, string]> = [];
    const feed = sseParser((data, id, event) => events.push([data.toString("utf8"), id, event]));
    const text = ': hi\r\nid: 1\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: other\ndata: x\n\nid: 2\ndata:\n\n';
    for (const ch of Buffer.from(text)) feed(Buffer.from([ch]));
    expect(events).toEqual([
      ['{"a":\n1}', "1", "message"],
      ["x", "1", "other"],
      ["", "2", "message"], // a priming event: no data, but its id is remembered for resuming
    ]);
  });

  it("reads retry: digits only and ignores ids with NUL or CR", () => {
    const events: Array<[string, string | undefined]> = [];
    const retries: number[] = [];
    const feed = sseParser(
      (data, id) => events.push([data.toString("utf8"), id]),
      (ms) => retries.push(ms),
    );
    feed(
      Buffer.from(
        "retry: 100\nretry: 1x\nretry:\nretry:250\nid: a\0b\ndata: 1\n\nid: c\rd\ndata: 2\n\nid: é\ndata: 3\n\n",
      ),
    );
    expect(retries).toEqual([100, 250]);
    expect(events).toEqual([
      ["1", undefined],
      ["2", undefined],
      ["3", "é"],
    ]);
  });
});
