// The 2026-07-28 revision through warden over real HTTP, with the v2 SDK client
// (@modelcontextprotocol/client 2.x pinned to 2026-07-28) and raw requests for the wire rules.
// Downstream: the echo fixture (SDK v1 over stdio), which samples, elicits and asks for roots.
import { createRequire } from "node:module";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Subject } from "../../src/pipeline/types.js";
import { AuthenticationRequired, type HttpFrontDoor } from "../../src/server/http.js";
import { ParkedCalls } from "../../src/server/input-required.js";
import type { Warden } from "../../src/server/warden.js";
import { fixture, makeWarden, textOf } from "./helpers.js";

const V = "2026-07-28";
const envelope = (caps: Record<string, unknown> = {}) => ({
  "io.modelcontextprotocol/protocolVersion": V,
  "io.modelcontextprotocol/clientCapabilities": caps,
});

/** A bearer token names the user, so tests can act as two people. */
async function authenticate(req: {
  headers: Record<string, string | string[] | undefined>;
}): Promise<Subject> {
  const h = req.headers.authorization;
  if (typeof h !== "string") throw new AuthenticationRequired("no token", 'Bearer realm="warden"');
  return { user: h.slice(7), tenant: "t", roles: [], scopes: [], authMethod: "api_key" };
}

async function v2Client(url: string, user: string, capabilities: Record<string, unknown>) {
  const client = new Client(
    { name: `v2-${user}`, version: "1" },
    { capabilities, versionNegotiation: { mode: { pin: V } } },
  );
  client.setRequestHandler("sampling/createMessage", async () => ({
    model: user,
    role: "assistant",
    content: { type: "text", text: `sampled by ${user}` },
  }));
  client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: user } }));
  client.setRequestHandler("roots/list", async () => ({ roots: [{ uri: `file:///${user}` }] }));
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${user}` } },
    }),
  );
  return client;
}

const ALL_CAPS = { sampling: {}, elicitation: {}, roots: {} };

for (const isolation of ["shared", "per-session"] as const) {
  describe(`2026-07-28 clients through warden (isolation ${isolation})`, () => {
    let warden: Warden;
    let door: HttpFrontDoor;
    beforeAll(async () => {
      warden = await makeWarden({
        servers: { fx: fixture("fx", { isolation }) },
        registry: { servers: { fx: { tools: ["*"] } } },
      });
      door = await warden.listenHttp({ port: 0, authenticate });
    });
    afterAll(async () => {
      await door.close();
      await warden.close();
    });

    it("lists, calls, reads and completes with cache fields and serverInfo on every result", async () => {
      const client = await v2Client(door.url, "ann", ALL_CAPS);
      try {
        expect(client.getServerVersion()?.name).toBe("mcp-warden");
        const tools = (await client.listTools()).tools.map((t) => t.name);
        expect(tools).toContain("fx__echo");
        expect(textOf(await client.callTool({ name: "fx__echo", arguments: { text: "hi" } }))).toBe("fx: hi");
        const read = await client.readResource({ uri: "fx://static/a" });
        expect(read.contents[0]).toMatchObject({ text: "fx content of fx://static/a" });
        expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(["fx__greet"]);
        expect((await client.listResourceTemplates()).resourceTemplates[0].name).toBe("fx__item");
      } finally {
        await client.close();
      }
    });

    it("turns downstream sampling, elicitation and roots requests into input_required rounds", async () => {
      const client = await v2Client(door.url, "bea", ALL_CAPS);
      try {
        expect(textOf(await client.callTool({ name: "fx__sample", arguments: { prompt: "x" } }))).toBe(
          "sampled: sampled by bea",
        );
        expect(textOf(await client.callTool({ name: "fx__elicit", arguments: {} }))).toBe(
          'elicited: {"name":"bea"}',
        );
        expect(textOf(await client.callTool({ name: "fx__roots", arguments: {} }))).toBe(
          "roots: file:///bea",
        );
      } finally {
        await client.close();
      }
      // Every round's session is gone once the calls completed: nothing waits for a retry.
      expect(warden.router.sessions.size).toBe(0);
    });

    it("keeps two clients' rounds apart", async () => {
      const [a, b] = await Promise.all([
        v2Client(door.url, "cid", ALL_CAPS),
        v2Client(door.url, "dan", ALL_CAPS),
      ]);
      try {
        const [ra, rb] = await Promise.allSettled([
          a.callTool({ name: "fx__elicit", arguments: {} }),
          b.callTool({ name: "fx__elicit", arguments: {} }),
        ]);
        const outcome = (r: PromiseSettledResult<unknown>) =>
          r.status === "fulfilled" ? textOf(r.value) : `refused: ${(r.reason as Error).message}`;
        if (isolation === "per-session") {
          expect(outcome(ra)).toBe('elicited: {"name":"cid"}');
          expect(outcome(rb)).toBe('elicited: {"name":"dan"}');
        } else {
          // Shared isolation refuses what it cannot attribute (documented); it never answers
          // one user's call with the other user's input.
          for (const [r, who] of [
            [ra, "cid"],
            [rb, "dan"],
          ] as const) {
            expect(outcome(r)).toMatch(
              new RegExp(`^(elicited: \\{"name":"${who}"\\}|refused: .*cannot attribute)`),
            );
          }
        }
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}

describe("2026-07-28 client, server-everything downstream", () => {
  it("fulfils server-everything's sampling and elicitation through input_required rounds", async () => {
    const everything = createRequire(import.meta.url).resolve(
      "@modelcontextprotocol/server-everything/dist/index.js",
    );
    const warden = await makeWarden({
      // per-session: the downstream sees the client's capabilities and registers its sampling tools.
      servers: {
        everything: { command: process.execPath, args: [everything, "stdio"], isolation: "per-session" },
      },
      registry: { servers: { everything: { tools: ["trigger-*", "echo"] } } },
    });
    const door = await warden.listenHttp({ port: 0, authenticate });
    const client = await v2Client(door.url, "hal", ALL_CAPS);
    try {
      const sampled = textOf(
        await client.callTool({
          name: "everything__trigger-sampling-request",
          arguments: { prompt: "hello", maxTokens: 5 },
        }),
      );
      expect(sampled).toMatch(/LLM sampling result/);
      expect(sampled).toMatch(/sampled by hal/);
      const elicited = textOf(
        await client.callTool({ name: "everything__trigger-elicitation-request", arguments: {} }),
      );
      expect(elicited).toMatch(/User provided the requested information/);
      expect(elicited).toMatch(/hal/);
    } finally {
      await client.close();
      await door.close();
      await warden.close();
    }
  });
});

describe("2026-07-28 wire rules on /mcp", () => {
  let warden: Warden;
  let door: HttpFrontDoor;
  beforeAll(async () => {
    warden = await makeWarden({
      servers: { fx: fixture("fx") },
      registry: { servers: { fx: { tools: ["*"] } } },
    });
    door = await warden.listenHttp({ port: 0, authenticate });
  });
  afterAll(async () => {
    await door.close();
    await warden.close();
  });

  const post = (body: unknown, headers: Record<string, string> = {}, user = "eve") =>
    fetch(`${door.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${user}`,
        ...headers,
      },
      body: JSON.stringify(body),
    });
  /** A modern request with the headers a conforming client sends. */
  const call = (
    id: number,
    method: string,
    params: Record<string, unknown>,
    opts: { caps?: Record<string, unknown>; user?: string; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { "mcp-protocol-version": V, "mcp-method": method };
    const name = params.name ?? params.uri;
    if (typeof name === "string") headers["mcp-name"] = name;
    return post(
      { jsonrpc: "2.0", id, method, params: { ...params, _meta: envelope(opts.caps) } },
      { ...headers, ...opts.headers },
      opts.user,
    );
  };
  type Answer = {
    id: number;
    result?: Record<string, unknown> & { content?: Array<{ text: string }> };
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };

  it("answers input_required with the downstream's request embedded, and resumes on the retry", async () => {
    const first = (await (
      await call(1, "tools/call", { name: "fx__sample", arguments: { prompt: "q" } }, { caps: ALL_CAPS })
    ).json()) as Answer;
    expect(first.result?.resultType).toBe("input_required");
    const requests = first.result?.inputRequests as Record<
      string,
      { method: string; params: Record<string, unknown> }
    >;
    const [key] = Object.keys(requests);
    expect(requests[key].method).toBe("sampling/createMessage");
    expect(requests[key].params.messages).toEqual([{ role: "user", content: { type: "text", text: "q" } }]);
    const requestState = first.result?.requestState as string;
    expect(typeof requestState).toBe("string");
    const inputResponses = {
      [key]: { role: "assistant", model: "m", content: { type: "text", text: "42" } },
    };

    // Another user, another tool, or no state: refused, and the call stays resumable.
    const stolen = (await (
      await call(
        2,
        "tools/call",
        { name: "fx__sample", arguments: {}, inputResponses, requestState },
        { user: "mallory", caps: ALL_CAPS },
      )
    ).json()) as Answer;
    expect(stolen.error).toMatchObject({ code: -32602, message: "Invalid or expired requestState" });
    const otherTool = (await (
      await call(
        3,
        "tools/call",
        { name: "fx__echo", arguments: {}, inputResponses, requestState },
        { caps: ALL_CAPS },
      )
    ).json()) as Answer;
    expect(otherTool.error?.code).toBe(-32602);

    const done = (await (
      await call(
        4,
        "tools/call",
        { name: "fx__sample", arguments: { prompt: "q" }, inputResponses, requestState },
        { caps: ALL_CAPS },
      )
    ).json()) as Answer;
    expect(done.id).toBe(4);
    expect(done.result?.resultType).toBe("complete");
    expect(done.result?.content?.[0].text).toBe("sampled: 42");

    // A requestState is good for one retry only.
    const replay = (await (
      await call(
        5,
        "tools/call",
        { name: "fx__sample", arguments: {}, inputResponses, requestState },
        { caps: ALL_CAPS },
      )
    ).json()) as Answer;
    expect(replay.error?.code).toBe(-32602);
  });

  it("asks again when the retry leaves a request unanswered", async () => {
    const first = (await (
      await call(1, "tools/call", { name: "fx__elicit", arguments: {} }, { caps: ALL_CAPS })
    ).json()) as Answer;
    const again = (await (
      await call(
        2,
        "tools/call",
        { name: "fx__elicit", arguments: {}, requestState: first.result?.requestState },
        { caps: ALL_CAPS },
      )
    ).json()) as Answer;
    expect(again.result?.resultType).toBe("input_required");
    expect(again.result?.inputRequests).toEqual(first.result?.inputRequests);
    expect(again.result?.requestState).not.toBe(first.result?.requestState);
    const [key] = Object.keys(again.result?.inputRequests as object);
    const done = (await (
      await call(
        3,
        "tools/call",
        {
          name: "fx__elicit",
          arguments: {},
          requestState: again.result?.requestState,
          inputResponses: { [key]: { action: "decline" } },
        },
        { caps: ALL_CAPS },
      )
    ).json()) as Answer;
    expect(done.result?.content?.[0].text).toBe("elicited: undefined");
  });

  it("never embeds a request the client did not declare a capability for", async () => {
    // No sampling capability: the downstream's request is refused, the call completes.
    const r = (await (
      await call(1, "tools/call", { name: "fx__sample", arguments: {} }, { caps: {} })
    ).json()) as Answer;
    expect(r.result?.resultType).not.toBe("input_required");
    expect(JSON.stringify(r)).toMatch(/does not support sampling\/createMessage/);
    // URL-mode elicitation only: a form elicitation is refused.
    const e = (await (
      await call(
        2,
        "tools/call",
        { name: "fx__elicit", arguments: {} },
        { caps: { elicitation: { url: {} } } },
      )
    ).json()) as Answer;
    expect(e.result?.resultType).not.toBe("input_required");
    expect(JSON.stringify(e)).toMatch(/does not support elicitation\/create/);
  });

  it("cancels the downstream call when the client closes the request", async () => {
    const ac = new AbortController();
    const pending = fetch(`${door.url}/mcp`, {
      method: "POST",
      signal: ac.signal,
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: "Bearer eve",
        "mcp-protocol-version": V,
        "mcp-method": "tools/call",
        "mcp-name": "fx__slow",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "fx__slow", arguments: { ms: 1500, tag: "gone" }, _meta: envelope() },
      }),
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await pending;
    await new Promise((r) => setTimeout(r, 1200));
    const who = (await (await call(2, "tools/call", { name: "fx__whoami", arguments: {} })).json()) as Answer;
    expect(who.result?.content?.[0].text).toMatch(/cancelled=.*gone/);
  });

  it("sends progress, and log messages only at the requested level, on an SSE answer", async () => {
    const client = await v2Client(door.url, "ivy", ALL_CAPS);
    try {
      const progress: number[] = [];
      const r = await client.callTool(
        { name: "fx__slow", arguments: { ms: 100 } },
        { onprogress: (p) => void progress.push(p.progress) },
      );
      expect(textOf(r)).toBe("slow done");
      expect(progress).toEqual([1, 2]);
    } finally {
      await client.close();
    }
    const logged = async (logLevel?: string) => {
      const meta = logLevel ? { ...envelope(), "io.modelcontextprotocol/logLevel": logLevel } : envelope();
      const res = await post(
        {
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "fx__log", arguments: { text: "t" }, _meta: meta },
        },
        { "mcp-protocol-version": V, "mcp-method": "tools/call", "mcp-name": "fx__log" },
      );
      return { type: res.headers.get("content-type"), body: await res.text() };
    };
    const quiet = await logged();
    expect(quiet.type).toMatch(/application\/json/);
    expect(quiet.body).not.toMatch(/notifications\/message/);
    expect((await logged("error")).body).not.toMatch(/notifications\/message/);
    const chatty = await logged("info");
    expect(chatty.type).toMatch(/text\/event-stream/);
    const events = chatty.body
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => JSON.parse(l.slice(6)));
    expect(events[0]).toMatchObject({ method: "notifications/message", params: { data: "log from fx: t" } });
    expect(events[1]).toMatchObject({
      id: 1,
      result: { resultType: "complete", content: [{ text: "logged" }] },
    });
  });

  it("checks the routing headers against the body", async () => {
    const body = {
      jsonrpc: "2.0",
      id: 9,
      method: "tools/call",
      params: { name: "fx__echo", arguments: {}, _meta: envelope() },
    };
    const cases: Array<[Record<string, string>, number, number, RegExp]> = [
      [{ "mcp-protocol-version": V, "mcp-name": "fx__echo" }, 400, -32020, /Mcp-Method header is absent/],
      [
        { "mcp-protocol-version": V, "mcp-method": "tools/list", "mcp-name": "fx__echo" },
        400,
        -32020,
        /Mcp-Method header names tools\/list/,
      ],
      [{ "mcp-protocol-version": V, "mcp-method": "tools/call" }, 400, -32020, /Mcp-Name header is absent/],
      [
        { "mcp-protocol-version": V, "mcp-method": "tools/call", "mcp-name": "fx__whoami" },
        400,
        -32020,
        /Mcp-Name header names "fx__whoami"/,
      ],
      [
        { "mcp-protocol-version": V, "mcp-method": "tools/call", "mcp-name": "=?base64?!!?=" },
        400,
        -32020,
        /invalid Base64/,
      ],
      [
        { "mcp-protocol-version": "2025-11-25", "mcp-method": "tools/call", "mcp-name": "fx__echo" },
        400,
        -32020,
        /MCP-Protocol-Version header names 2025-11-25/,
      ],
      [
        { "mcp-method": "tools/call", "mcp-name": "fx__echo" },
        400,
        -32020,
        /MCP-Protocol-Version header is absent/,
      ],
    ];
    for (const [headers, status, code, message] of cases) {
      const r = await post(body, headers);
      expect(r.status, JSON.stringify(headers)).toBe(status);
      const a = (await r.json()) as Answer;
      expect(a.id).toBe(9);
      expect(a.error?.code).toBe(code);
      expect(a.error?.message).toMatch(message);
    }
    // The base64 sentinel form of the right name is accepted.
    const ok = await post(body, {
      "mcp-protocol-version": V,
      "mcp-method": "tools/call",
      "mcp-name": `=?base64?${Buffer.from("fx__echo").toString("base64")}?=`,
    });
    expect(((await ok.json()) as Answer).result?.content?.[0].text).toBe("fx: ");
  });

  it("refuses what the revision does not define, with the revision's codes", async () => {
    const ping = await call(1, "ping", {});
    expect(ping.status).toBe(404);
    expect(((await ping.json()) as Answer).error?.code).toBe(-32601);
    const future = await post(
      {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/list",
        params: { _meta: { ...envelope(), "io.modelcontextprotocol/protocolVersion": "2099-01-01" } },
      },
      { "mcp-protocol-version": "2099-01-01", "mcp-method": "tools/list" },
    );
    expect(future.status).toBe(400);
    expect(((await future.json()) as Answer).error).toMatchObject({
      code: -32022,
      data: { supported: [V], requested: "2099-01-01" },
    });
    const noEnvelope = await post(
      { jsonrpc: "2.0", id: 3, method: "tools/list" },
      { "mcp-protocol-version": V, "mcp-method": "tools/list" },
    );
    expect(noEnvelope.status).toBe(400);
    expect(((await noEnvelope.json()) as Answer).error?.code).toBe(-32602);
    const batch = await post(
      [{ jsonrpc: "2.0", id: 4, method: "tools/list", params: { _meta: envelope() } }],
      { "mcp-protocol-version": V },
    );
    expect(batch.status).toBe(400);
    const init = await post(
      {
        jsonrpc: "2.0",
        id: 5,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } },
      },
      { "mcp-protocol-version": V },
    );
    expect(init.status).toBe(400);
    expect(((await init.json()) as Answer).error?.code).toBe(-32020);
    const badState = (await (
      await call(6, "tools/call", { name: "fx__echo", requestState: "nope" })
    ).json()) as Answer;
    expect(badState.error).toMatchObject({ code: -32602, data: { reason: "invalid_request_state" } });
    // A legacy session on the same endpoint is unaffected.
    const legacy = await post({
      jsonrpc: "2.0",
      id: 7,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } },
    });
    expect(legacy.status).toBe(200);
    expect(legacy.headers.get("mcp-session-id")).toBeTruthy();
  });

  it("serves subscriptions/listen: acknowledged filter, stamped notifications, graceful close", async () => {
    const client = await v2Client(door.url, "fay", ALL_CAPS);
    const updates: unknown[] = [];
    client.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params));
    try {
      const sub = await client.listen({
        resourceSubscriptions: ["fx://static/a"],
        toolsListChanged: true,
        promptsListChanged: false,
      });
      expect(sub.honoredFilter).toEqual({ resourceSubscriptions: ["fx://static/a"], toolsListChanged: true });
      for (let i = 0; i < 50 && updates.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(updates[0]).toMatchObject({ uri: "fx://static/a" });
      await sub.close();
      expect(await sub.closed).toBe("local");
      // An empty filter is acknowledged and ended at once.
      const empty = await client.listen({ toolsListChanged: false });
      expect(empty.honoredFilter).toEqual({});
      expect(await empty.closed).toBe("graceful");
    } finally {
      await client.close();
    }
    const bad = (await (
      await call(1, "subscriptions/listen", { notifications: { toolsListChanged: "yes" } })
    ).json()) as Answer;
    expect(bad.error?.code).toBe(-32602);
  });
});

describe("http.jsonResponse", () => {
  it("keeps 2026-07-28 answers JSON, dropping notifications that would go first", async () => {
    const warden = await makeWarden({
      servers: { fx: fixture("fx") },
      registry: { servers: { fx: { tools: ["*"] } } },
      http: { jsonResponse: true },
    });
    const door = await warden.listenHttp({ port: 0 });
    try {
      const res = await fetch(`${door.url}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": V,
          "mcp-method": "tools/call",
          "mcp-name": "fx__log",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: {
            name: "fx__log",
            arguments: { text: "t" },
            _meta: { ...envelope(), "io.modelcontextprotocol/logLevel": "debug" },
          },
        }),
      });
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect(await res.json()).toMatchObject({ id: 1, result: { content: [{ text: "logged" }] } });
    } finally {
      await door.close();
      await warden.close();
    }
  });
});

describe("shutdown and expiry", () => {
  it("ends listen streams with the graceful result and cancels calls waiting for a retry", async () => {
    const warden = await makeWarden({
      servers: { fx: fixture("fx") },
      registry: { servers: { fx: { tools: ["*"] } } },
    });
    const door = await warden.listenHttp({ port: 0 });
    const client = await v2Client(door.url, "gil", ALL_CAPS);
    const sub = await client.listen({ toolsListChanged: true });
    await door.close();
    expect(await sub.closed).toBe("graceful");
    await client.close();
    await warden.close();
  });

  it("expires a parked call after its time to live, once", async () => {
    const expired: string[] = [];
    const table = new ParkedCalls(50, 1, (p) => expired.push(p.method));
    const call = {} as never;
    const state = table.park({ call, owner: "o", method: "tools/call", target: "x" }) as string;
    expect(table.park({ call, owner: "o", method: "tools/call", target: "y" })).toBeUndefined(); // full
    expect(table.take(state, "other", () => true)).toBeUndefined();
    expect(table.take(state, "o", (p) => p.target === "z")).toBeUndefined();
    await new Promise((r) => setTimeout(r, 120));
    expect(expired).toEqual(["tools/call"]);
    expect(table.take(state, "o", () => true)).toBeUndefined();
    expect(table.size).toBe(0);
  });
});
