// Through warden's HTTP front door (Streamable HTTP and legacy SSE) to fixture downstreams.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpFrontDoor } from "../../src/server/http.js";
import type { Warden } from "../../src/server/warden.js";
import { fixture, httpClient, makeWarden, textOf } from "./helpers.js";

let warden: Warden;
let door: HttpFrontDoor;
let url: string;

beforeAll(async () => {
  warden = await makeWarden({
    servers: {
      alpha: fixture("alpha", { isolation: "per-session", timeoutMs: 5000 }),
      beta: fixture("beta", { timeoutMs: 3000 }),
    },
    registry: {
      servers: {
        alpha: { tools: [{ name: "*", risk: "low" }] },
        beta: { tools: ["echo", "whoami", "sample", "hang", "size", "slow"] },
      },
    },
    http: { maxBodyBytes: 1024 * 1024 },
  });
  door = await warden.listenHttp({ port: 0 });
  url = door.url;
});

afterAll(async () => {
  await warden?.close();
});

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body,
  });

const errorOf = async (r: Response) => (await r.json()) as { error: { code: number; message: string } };

describe("Streamable HTTP front door", () => {
  it("binds 127.0.0.1 by default", () => {
    expect(door.host).toBe("127.0.0.1");
  });

  it("lists namespaced tools from both servers, filtered by the registry", async () => {
    const client = await httpClient(url, "c1");
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("alpha__echo");
    expect(names).toContain("beta__echo");
    expect(names).toContain("alpha__secret_tool");
    expect(names).not.toContain("beta__secret_tool");
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "x" } }))).toBe("beta: x");
    await client.close();
  });

  it("refuses an unlisted tool with an error naming the registry stage", async () => {
    const client = await httpClient(url, "c2");
    await expect(client.callTool({ name: "beta__secret_tool", arguments: {} })).rejects.toThrow(
      /refused by registry: tool 'beta__secret_tool' is not exposed in environment 'test'/,
    );
    await expect(client.callTool({ name: "nosuch__echo", arguments: {} })).rejects.toThrow(
      /refused by registry/,
    );
    await client.close();
  });

  it("carries a 256 KB argument", async () => {
    const client = await httpClient(url, "c3");
    const big = "x".repeat(256 * 1024);
    expect(textOf(await client.callTool({ name: "beta__size", arguments: { text: big } }))).toBe(
      String(big.length),
    );
    await client.close();
  });

  it("routes server→client requests to the session that caused them (two concurrent sessions)", async () => {
    const [a, b] = await Promise.all([httpClient(url, "client-A"), httpClient(url, "client-B")]);
    const [ra, rb] = await Promise.all([
      a.callTool({ name: "alpha__sample", arguments: {} }),
      b.callTool({ name: "alpha__sample", arguments: {} }),
    ]);
    expect(textOf(ra)).toBe("sampled: answer from client-A");
    expect(textOf(rb)).toBe("sampled: answer from client-B");
    const [ea, eb] = await Promise.all([
      a.callTool({ name: "alpha__elicit", arguments: {} }),
      b.callTool({ name: "alpha__roots", arguments: {} }),
    ]);
    expect(textOf(ea)).toBe('elicited: {"name":"client-A"}');
    expect(textOf(eb)).toBe("roots: file:///client-B");
    // per-session isolation: each session has its own child process.
    const [wa, wb] = await Promise.all([
      a.callTool({ name: "alpha__whoami" }),
      b.callTool({ name: "alpha__whoami" }),
    ]);
    expect(textOf(wa)).not.toBe(textOf(wb));
    await Promise.all([a.close(), b.close()]);
  });

  it("forwards a downstream's cancellation of its sampling request to the client", async () => {
    const client = await httpClient(url, "cancel-me");
    const { CreateMessageRequestSchema } = await import("@modelcontextprotocol/sdk/types.js");
    let aborted = false;
    client.setRequestHandler(
      CreateMessageRequestSchema,
      (_req, extra) =>
        new Promise((resolve) => {
          extra.signal.addEventListener("abort", () => {
            aborted = true;
            resolve({ model: "x", role: "assistant", content: { type: "text", text: "too late" } });
          });
        }),
    );
    expect(textOf(await client.callTool({ name: "alpha__sample_cancel", arguments: {} }))).toBe(
      "sampling cancelled",
    );
    for (let i = 0; i < 100 && !aborted; i++) await new Promise((r) => setTimeout(r, 20));
    expect(aborted).toBe(true);
    await client.close();
  });

  it("routes sampling from a shared server to the only session with a call in flight", async () => {
    const client = await httpClient(url, "solo");
    expect(textOf(await client.callTool({ name: "beta__sample", arguments: {} }))).toBe(
      "sampled: answer from solo",
    );
    await client.close();
  });

  it("refuses (never misroutes) a shared server's sampling request when two sessions have calls in flight", async () => {
    const busy = await httpClient(url, "busy");
    const asker = await httpClient(url, "asker");
    let busyAsked = 0;
    const { CreateMessageRequestSchema } = await import("@modelcontextprotocol/sdk/types.js");
    busy.setRequestHandler(CreateMessageRequestSchema, async () => {
      busyAsked++;
      return { model: "busy", role: "assistant", content: { type: "text", text: "wrong session" } };
    });
    const slow = busy.callTool({ name: "beta__slow", arguments: { ms: 2500 } });
    await new Promise((r) => setTimeout(r, 200));
    const r = await asker.callTool({ name: "beta__sample", arguments: {} }).catch((e: Error) => e);
    const text = r instanceof Error ? r.message : textOf(r);
    expect(text).toMatch(
      /cannot attribute sampling\/createMessage to one client session \(2 have calls in flight\)/,
    );
    expect(busyAsked).toBe(0);
    expect(textOf(await slow)).toBe("slow done");
    await Promise.all([busy.close(), asker.close()]);
  });

  it("relays progress with the client's own token", async () => {
    const client = await httpClient(url, "prog");
    const seen: number[] = [];
    const r = await client.callTool({ name: "beta__slow", arguments: { ms: 40 } }, undefined, {
      onprogress: (p) => seen.push(p.progress),
    });
    expect(textOf(r)).toBe("slow done");
    expect(seen).toEqual([1, 2]);
    await client.close();
  });

  it("forwards resources (routed by URI and template), prompts and completion", async () => {
    const client = await httpClient(url, "res");
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    expect(resources).toEqual(expect.arrayContaining(["alpha://static/a", "beta://static/a"]));
    expect(
      ((await client.readResource({ uri: "beta://static/a" })).contents[0] as { text: string }).text,
    ).toBe("beta content of beta://static/a");
    expect(
      ((await client.readResource({ uri: "alpha://item/42" })).contents[0] as { text: string }).text,
    ).toBe("alpha content of alpha://item/42");
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.name);
    expect(templates).toEqual(expect.arrayContaining(["alpha__item", "beta__item"]));
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(expect.arrayContaining(["alpha__greet", "beta__greet"]));
    const prompt = await client.getPrompt({ name: "beta__greet", arguments: { who: "bob" } });
    expect((prompt.messages[0].content as { text: string }).text).toBe("beta greets bob");
    const c = await client.complete({
      ref: { type: "ref/prompt", name: "alpha__greet" },
      argument: { name: "who", value: "z" },
    });
    expect(c.completion.values).toEqual(["alpha-z-1"]);
    await client.setLoggingLevel("debug");
    await expect(client.readResource({ uri: "nobody://x" })).rejects.toThrow(
      /no exposed server owns nobody:\/\/x/,
    );
    await client.close();
  });

  it("forwards resource subscriptions and updates only to the subscriber", async () => {
    const client = await httpClient(url, "sub");
    const other = await httpClient(url, "other");
    const got: string[] = [];
    const otherGot: string[] = [];
    const { ResourceUpdatedNotificationSchema } = await import("@modelcontextprotocol/sdk/types.js");
    const updated = new Promise<void>((resolve) => {
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        got.push(n.params.uri);
        resolve();
      });
    });
    other.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      otherGot.push(n.params.uri);
    });
    await client.listResources();
    await client.subscribeResource({ uri: "beta://static/a" });
    await updated;
    expect(got).toEqual(["beta://static/a"]);
    await other.ping();
    expect(otherGot).toEqual([]);
    await Promise.all([client.close(), other.close()]);
  });

  it("times out a downstream that never answers and stays up", async () => {
    const client = await httpClient(url, "hang");
    await expect(client.callTool({ name: "beta__hang", arguments: {} })).rejects.toThrow(
      /did not answer tools\/call within 3000 ms/,
    );
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "after" } }))).toBe(
      "beta: after",
    );
    await client.close();
  });
});

describe("Streamable HTTP wire behaviour", () => {
  const H = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  async function initSession(): Promise<string> {
    const r = await post(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "raw", version: "1" },
        },
      }),
    );
    expect(r.headers.get("content-type")).toMatch(/application\/json/);
    await r.json();
    return r.headers.get("mcp-session-id") as string;
  }
  /** Reads SSE events until `stop` says so, then drops the connection. */
  async function readEvents(
    r: Response,
    stop: (events: Array<{ id?: string; data: Record<string, unknown> }>) => boolean,
  ) {
    const events: Array<{ id?: string; data: Record<string, unknown> }> = [];
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    let buf = "";
    while (!stop(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString("utf8");
      let i = buf.indexOf("\n\n");
      for (; i !== -1; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data) events.push({ id, data: JSON.parse(data) });
      }
    }
    await reader.cancel();
    return events;
  }

  it("answers a plain request with JSON and switches to SSE when progress comes first", async () => {
    const sid = await initSession();
    const plain = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }), {
      "mcp-session-id": sid,
    });
    expect(plain.headers.get("content-type")).toMatch(/application\/json/);
    expect(await plain.json()).toEqual({ jsonrpc: "2.0", id: 1, result: {} });
    const streamed = await post(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "beta__slow", arguments: { ms: 40 }, _meta: { progressToken: "tok" } },
      }),
      { "mcp-session-id": sid },
    );
    expect(streamed.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events = await readEvents(streamed, (e) => e.some((x) => x.data.id === 2));
    expect(events.map((e) => e.data.method ?? "response")).toEqual([
      "notifications/progress",
      "notifications/progress",
      "response",
    ]);
    expect((events[0].data.params as { progressToken: string }).progressToken).toBe("tok");
  });

  it("resumes an interrupted SSE stream with GET + Last-Event-ID", async () => {
    const sid = await initSession();
    const r = await post(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 5,
        method: "tools/call",
        params: { name: "beta__slow", arguments: { ms: 600 }, _meta: { progressToken: 9 } },
      }),
      { "mcp-session-id": sid },
    );
    const first = await readEvents(r, (e) => e.length >= 1);
    expect(first[0].data.method).toBe("notifications/progress");
    const resumed = await fetch(`${url}/mcp`, {
      headers: { ...H, "mcp-session-id": sid, "last-event-id": first[0].id as string },
    });
    expect(resumed.status).toBe(200);
    const rest = await readEvents(resumed, (e) => e.some((x) => x.data.id === 5));
    expect(rest.map((e) => e.data.method ?? "response")).toEqual(["notifications/progress", "response"]);
    expect((rest[1].data.result as { content: Array<{ text: string }> }).content[0].text).toBe("slow done");
  });

  it("refuses wrong Accept and Content-Type headers, and a second initialize on a session", async () => {
    const sid = await initSession();
    const r1 = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: "{}",
    });
    expect(r1.status).toBe(406);
    const r2 = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: { ...H, "content-type": "text/plain" },
      body: "{}",
    });
    expect(r2.status).toBe(415);
    const again = await post(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 9,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } },
      }),
      { "mcp-session-id": sid },
    );
    expect(again.status).toBe(400);
    const bad = await post(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }), {
      "mcp-session-id": sid,
      "mcp-protocol-version": "1999-01-01",
    });
    expect(bad.status).toBe(400);
    const del = await fetch(`${url}/mcp`, { method: "DELETE", headers: { "mcp-session-id": sid } });
    expect(del.status).toBe(200);
    const gone = await post(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "ping" }), {
      "mcp-session-id": sid,
    });
    expect(gone.status).toBe(404);
  });
});

describe("HTTP bad input", () => {
  it("answers malformed JSON with a parse error", async () => {
    const r = await post("{not json");
    expect(r.status).toBe(400);
    expect((await errorOf(r)).error.code).toBe(-32700);
  });

  it("answers a non-JSON-RPC body with Invalid Request", async () => {
    const r = await post(JSON.stringify({ hello: 1 }));
    expect(r.status).toBe(400);
    expect((await errorOf(r)).error.code).toBe(-32600);
  });

  it("refuses oversize bodies with 413", async () => {
    const r = await post(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "ping",
        params: { pad: "x".repeat(1024 * 1024 + 10) },
      }),
    );
    expect(r.status).toBe(413);
    expect((await errorOf(r)).error.message).toMatch(/exceeds the limit of 1048576 bytes/);
  });

  it("refuses unknown sessions with 404 and requests without a session with 400", async () => {
    const r = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }), {
      "mcp-session-id": "nope",
    });
    expect(r.status).toBe(404);
    const r2 = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
    expect(r2.status).toBe(400);
    expect((await errorOf(r2)).error.message).toMatch(/Mcp-Session-Id/);
  });

  it("refuses foreign Origin and Host headers (DNS rebinding)", async () => {
    const r = await post("{}", { origin: "http://evil.example" });
    expect(r.status).toBe(403);
    expect((await errorOf(r)).error.message).toMatch(/Origin 'http:\/\/evil.example' is not allowed/);
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${url}/mcp`,
        { method: "POST", headers: { host: `evil.example:${door.port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
    expect(status).toBe(403);
  });

  it("answers unknown methods with -32601 and keeps the session usable", async () => {
    const client = await httpClient(url, "unknown");
    await expect(
      client.request({ method: "no/such", params: {} }, (await import("zod")).z.any()),
    ).rejects.toThrow(/Method not found/);
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "ok" } }))).toBe("beta: ok");
    await client.close();
  });

  it("reports downstream states at /healthz", async () => {
    const r = await fetch(`${url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      status: "ok",
      environment: "test",
      servers: [
        { name: "alpha", state: "ready", restarts: 0 },
        { name: "beta", state: "ready", restarts: 0 },
      ],
    });
  });

  it("serves mounted extra routes", async () => {
    door.mount({ path: "/.well-known/test", method: "GET", handler: (_req, res) => void res.end("mounted") });
    expect(await (await fetch(`${url}/.well-known/test`)).text()).toBe("mounted");
  });
});

describe("legacy SSE front door", () => {
  it("serves an SSE client end to end, including server→client sampling", async () => {
    const client = await httpClient(url, "sse-client", "sse");
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "sse" } }))).toBe(
      "beta: sse",
    );
    expect(textOf(await client.callTool({ name: "alpha__sample", arguments: {} }))).toBe(
      "sampled: answer from sse-client",
    );
    await client.close();
  });

  it("refuses unknown SSE sessions", async () => {
    const r = await fetch(`${url}/messages?sessionId=nope`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(r.status).toBe(404);
  });
});
