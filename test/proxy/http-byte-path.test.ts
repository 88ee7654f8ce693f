// The HTTP front door's byte path: a tools/call POSTed in a live session, when no stage reads its
// params, is forwarded as the client's bytes (id, tool name and progress token rewritten) to a
// stdio downstream and to a Streamable HTTP downstream, whose answers come back as bytes too.
// Driven with raw HTTP requests against warden on 127.0.0.1 and real fixture servers.
import { request } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Stage } from "../../src/pipeline/types.js";
import type { Warden } from "../../src/server/warden.js";
import { RawRequest } from "../../src/upstream/ndjson.js";
import { type Running, startFixtureHttp } from "../fixtures/servers/child-process.js";
import { fixture, makeWarden } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: replies are JSON, checked field by field below.
type Msg = Record<string, any>;

interface Reply {
  status: number;
  type: string;
  body: string;
}

function post(url: string, body: string, session?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(session && { "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" }),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers["content-type"]),
            body: Buffer.concat(parts).toString("utf8"),
            ...(res.headers["mcp-session-id"] && { session: res.headers["mcp-session-id"] }),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The JSON-RPC messages of a reply (a JSON body or the data lines of an SSE body). */
function messages(reply: Reply): Msg[] {
  if (reply.type.startsWith("application/json")) return [JSON.parse(reply.body)];
  return reply.body
    .split("\n")
    .filter((l) => l.startsWith("data: ") && l.length > 6)
    .map((l) => JSON.parse(l.slice(6)));
}

const call = (id: unknown, name: string, args: Msg = {}, meta?: Msg) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
  });

async function session(url: string): Promise<string> {
  const init = await post(
    url,
    JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    }),
  );
  const sid = (init as Reply & { session?: string }).session;
  if (!sid) throw new Error(`no session: ${init.status} ${init.body}`);
  await post(url, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), sid);
  return sid;
}

describe("HTTP front door byte path (no stage reads params)", () => {
  let remote: Running & { url: string };
  let warden: Warden;
  let url: string;
  let sid: string;
  const rewrites = vi.spyOn(RawRequest.prototype, "rewrite");

  beforeAll(async () => {
    remote = await startFixtureHttp();
    warden = await makeWarden({
      servers: { a: fixture("a"), r: { url: remote.url } },
      registry: { servers: { a: { tools: ["echo", "slow"] }, r: { tools: ["echo"] } } },
    });
    url = `${(await warden.listenHttp({ port: 0, host: "127.0.0.1" })).url}/mcp`;
    sid = await session(url);
  }, 60_000);
  afterAll(async () => {
    await warden?.close();
    await remote?.stop();
  });
  afterEach(() => rewrites.mockClear());

  it("forwards a call as bytes to a stdio downstream, answering with the client's string id", async () => {
    const id = 'id "with" \\escapes\\ é';
    const reply = await post(url, call(id, "a__echo", { text: "hi" }), sid);
    expect(reply.status).toBe(200);
    const [answer] = messages(reply);
    expect(answer.id).toBe(id);
    expect(answer.result.content[0].text).toBe("a: hi");
    expect(rewrites).toHaveBeenCalledTimes(1);
  });

  it("forwards a 256 KB call as bytes to a Streamable HTTP downstream and back", async () => {
    const text = 'é€😀 "quoted" \\ '.repeat(14_000);
    const reply = await post(url, call(41, "r__echo", { text }), sid);
    expect(reply.status).toBe(200);
    const [answer] = messages(reply);
    expect(answer.id).toBe(41);
    expect(answer.result.content[0].text).toBe(text);
    expect(rewrites).toHaveBeenCalledTimes(1);
    expect(Array.isArray(rewrites.mock.results[0].value)).toBe(true); // pieces of the original bytes
  });

  it("relays progress on the POST's SSE stream with the client's token", async () => {
    const reply = await post(url, call(42, "a__slow", { ms: 40 }, { progressToken: "tok-42" }), sid);
    expect(reply.type).toMatch(/^text\/event-stream/);
    const all = messages(reply);
    expect(all[0]).toMatchObject({ method: "notifications/progress", params: { progressToken: "tok-42" } });
    expect(all.at(-1)?.id).toBe(42);
    expect(rewrites).toHaveBeenCalledTimes(1);
  });

  it("answers malformed JSON with 400 -32700 and unknown sessions with 404, as before", async () => {
    const bad = await post(url, `${call(43, "a__echo").slice(0, -1)},}`, sid);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe(-32700);
    const unknown = await post(url, call(44, "a__echo"), "no-such-session");
    expect(unknown.status).toBe(404);
    expect(rewrites).not.toHaveBeenCalled();
  });

  it("still refuses tools the registry does not expose", async () => {
    const [answer] = messages(await post(url, call(45, "r__secret"), sid));
    expect(answer.error.message).toContain("not exposed");
  });
});

describe("HTTP front door with a stage that reads params", () => {
  it("parses the call and forwards what the stage left", async () => {
    const remote = await startFixtureHttp();
    const upper: Stage = {
      name: "upper",
      reads: { params: true },
      async before(ctx) {
        const args = (ctx.params.arguments ?? {}) as Msg;
        ctx.params = { ...ctx.params, arguments: { ...args, text: String(args.text).toUpperCase() } };
      },
    };
    const warden = await makeWarden({
      servers: { r: { url: remote.url } },
      registry: { servers: { r: { tools: ["echo"] } } },
      stages: [upper],
    });
    try {
      const url = `${(await warden.listenHttp({ port: 0, host: "127.0.0.1" })).url}/mcp`;
      const sid = await session(url);
      const rewrite = vi.spyOn(RawRequest.prototype, "rewrite");
      const [answer] = messages(await post(url, call(1, "r__echo", { text: "abc" }), sid));
      expect(answer.result.content[0].text).toBe("ABC");
      expect(rewrite).not.toHaveBeenCalled();
    } finally {
      await warden.close();
      await remote.stop();
    }
  }, 60_000);
});
