// The pipeline seam and front-door hooks, in-process with a builtin LocalToolProvider (no child processes).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pipeline } from "../../src/pipeline/runner.js";
import {
  type CallContext,
  type LocalToolProvider,
  type Stage,
  StageRefusal,
} from "../../src/pipeline/types.js";
import { parseRegistry } from "../../src/registry/registry.js";
import { AuthenticationRequired, type HttpFrontDoor } from "../../src/server/http.js";
import { silentLogger } from "../../src/server/logger.js";
import { buildPlugins } from "../../src/server/plugins.js";
import { createWarden, type Warden } from "../../src/server/warden.js";
import { textOf } from "./helpers.js";

const calls: string[] = [];
const provider: LocalToolProvider = {
  name: "calc",
  listTools: () => [
    { name: "add", inputSchema: { type: "object" } },
    { name: "hidden", inputSchema: { type: "object" } },
    { name: "ask", inputSchema: { type: "object" } },
  ],
  async callTool(name, args) {
    calls.push(name);
    if (name === "add") return { content: [{ type: "text", text: String(Number(args.a) + Number(args.b)) }] };
    return { content: [{ type: "text", text: name }] };
  },
};

const trace: string[] = [];
const seen: CallContext[] = [];
const stages: Stage[] = [
  {
    name: "first",
    before(ctx) {
      trace.push(`first.before:${ctx.exposedName}:${ctx.toolMeta?.risk}`);
      if (ctx.tool === "add" && ctx.params.arguments) {
        (ctx.params.arguments as Record<string, unknown>).b = 100; // stages may rewrite arguments
      }
    },
    after(ctx) {
      trace.push(`first.after:${ctx.error ? `error:${ctx.error.stage}` : "ok"}`);
      seen.push(ctx);
    },
  },
  {
    name: "policy",
    async before(ctx) {
      trace.push("policy.before");
      if ((ctx.params.arguments as Record<string, unknown> | undefined)?.deny) {
        throw new StageRefusal("policy", "rule no_deny matched", -32001, { rule: "no_deny" });
      }
      if (ctx.tool === "ask") {
        const answer = await ctx.client.elicit?.({
          message: "approve?",
          requestedSchema: { type: "object", properties: {} },
        });
        ctx.annotations.approval = answer;
      }
    },
    after(ctx) {
      trace.push("policy.after");
      if (ctx.result && ctx.tool === "add") {
        const r = ctx.result as { content: Array<{ text: string }> };
        r.content[0].text = `${r.content[0].text} (checked)`;
      }
    },
  },
];

let warden: Warden;
let door: HttpFrontDoor;

beforeAll(async () => {
  warden = await createWarden({
    config: { servers: { calc: { builtin: "calc" } }, http: { jsonResponse: true } },
    env: "test",
    registry: parseRegistry({ servers: { calc: { tools: [{ name: "add", risk: "low" }, "ask"] } } }, "test"),
    stages,
    providers: [provider],
    log: silentLogger,
  });
  door = await warden.listenHttp({
    port: 0,
    authenticate: async (req) => {
      const auth = req.headers.authorization;
      if (!auth?.startsWith("Bearer "))
        throw new AuthenticationRequired("missing bearer token", 'Bearer realm="warden"');
      const user = auth.slice(7);
      return { user, tenant: "t1", roles: [], scopes: [], authMethod: "api_key" };
    },
  });
});

afterAll(async () => {
  await warden?.close();
});

const rpc = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${door.url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify(body),
  });

const init = (version: string, user = "alice") =>
  rpc(
    {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    },
    { authorization: `Bearer ${user}` },
  );

describe("pipeline runner", () => {
  it("runs before hooks in order, executes, runs after hooks in reverse, lets stages rewrite", async () => {
    trace.length = 0;
    const session = warden.openSession("stdio", warden.stdioSubject(), () => {});
    const ctx = {
      requestId: 1,
      transport: "stdio",
      environment: "test",
      method: "tools/call",
      subject: warden.stdioSubject(),
      session: session.state,
      client: session,
      params: {},
      findings: [],
      annotations: {},
      startedAt: process.hrtime.bigint(),
      signal: new AbortController().signal,
    } satisfies CallContext;
    const p = new Pipeline(stages);
    expect(await p.run(ctx, async () => ({ content: [{ type: "text", text: "x" }] }))).toEqual({
      content: [{ type: "text", text: "x" }],
    });
    expect(trace).toEqual([
      "first.before:undefined:undefined",
      "policy.before",
      "policy.after",
      "first.after:ok",
    ]);
    await warden.closeSession(session);
  });

  it("rejects duplicate stage names", () => {
    expect(() => new Pipeline([{ name: "a" }, { name: "a" }])).toThrow(/duplicate pipeline stage 'a'/);
  });

  it("turns a thrown non-refusal into an error naming the stage", async () => {
    const p = new Pipeline([
      {
        name: "boom",
        before: () => {
          throw new Error("kaput");
        },
      },
    ]);
    const ctx = { params: {}, annotations: {}, findings: [] } as unknown as CallContext;
    await expect(p.run(ctx, async () => ({}))).rejects.toThrow("stage 'boom' failed: kaput");
  });
});

describe("through the HTTP front door with hooks", () => {
  it("answers 401 with the hook's WWW-Authenticate header", async () => {
    const r = await rpc({ jsonrpc: "2.0", id: 1, method: "ping" });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe('Bearer realm="warden"');
  });

  it("negotiates every legacy protocol revision and falls back to the newest for unknown ones", async () => {
    for (const v of ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]) {
      const r = await init(v);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { result: { protocolVersion: string } }).result.protocolVersion).toBe(v);
    }
    const r = await init("1999-01-01");
    expect(((await r.json()) as { result: { protocolVersion: string } }).result.protocolVersion).toBe(
      "2025-11-25",
    );
  });

  it("serves the stateless 2026-07-28 revision (server/discover, per-request _meta)", async () => {
    const meta = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
    };
    const headers = { authorization: "Bearer bob", "mcp-protocol-version": "2026-07-28" };
    const d = (await (
      await rpc(
        { jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: meta } },
        { ...headers, "mcp-method": "server/discover" },
      )
    ).json()) as {
      result: { supportedVersions: string[]; capabilities: Record<string, unknown> };
    };
    expect(d.result.supportedVersions).toContain("2026-07-28");
    expect(d.result.capabilities.tools).toBeDefined();
    const c = (await (
      await rpc(
        {
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "calc__add", arguments: { a: 1, b: 2 }, _meta: meta },
        },
        { ...headers, "mcp-method": "tools/call", "mcp-name": "calc__add" },
      )
    ).json()) as { result: { content: Array<{ text: string }>; resultType: string } };
    expect(c.result.content[0].text).toBe("101 (checked)");
    expect(c.result.resultType).toBe("complete");
  });

  it("binds a session to its subject: another user gets 403", async () => {
    const r = await init("2025-06-18", "alice");
    const sid = r.headers.get("mcp-session-id") as string;
    expect(sid).toBeTruthy();
    const other = await rpc(
      { jsonrpc: "2.0", id: 2, method: "ping" },
      { authorization: "Bearer mallory", "mcp-session-id": sid },
    );
    expect(other.status).toBe(403);
    const same = await rpc(
      { jsonrpc: "2.0", id: 2, method: "ping" },
      { authorization: "Bearer alice", "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" },
    );
    expect(same.status).toBe(200);
    expect(same.headers.get("content-type")).toMatch(/application\/json/); // JSON-response mode
  });
});

describe("stages seen from a client", () => {
  const authed = async () => {
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const { StreamableHTTPClientTransport } = await import(
      "@modelcontextprotocol/sdk/client/streamableHttp.js"
    );
    const { ElicitRequestSchema } = await import("@modelcontextprotocol/sdk/types.js");
    const client = new Client({ name: "c", version: "1" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { ok: true } }));
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${door.url}/mcp`), {
        requestInit: { headers: { authorization: "Bearer carol" } },
      }),
    );
    return client;
  };

  it("lists only registry tools of the builtin provider and applies stage rewrites", async () => {
    const client = await authed();
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["calc__add", "calc__ask"]);
    expect(textOf(await client.callTool({ name: "calc__add", arguments: { a: 1, b: 2 } }))).toBe(
      "101 (checked)",
    );
    const last = seen.at(-1) as CallContext;
    expect(last.subject.user).toBe("carol");
    expect(last.toolMeta).toEqual({ risk: "low", labels: [], requiresApproval: false });
    expect(last.server).toBe("calc");
    expect(last.tool).toBe("add");
    await client.close();
  });

  it("turns a StageRefusal into an MCP error naming the stage; after hooks still see it", async () => {
    const client = await authed();
    const before = calls.length;
    await expect(client.callTool({ name: "calc__add", arguments: { deny: true } })).rejects.toThrow(
      "MCP error -32001: refused by policy: rule no_deny matched",
    );
    expect(calls.length).toBe(before); // never executed
    expect(seen.at(-1)?.error).toMatchObject({ stage: "policy", data: { stage: "policy", rule: "no_deny" } });
    await expect(client.callTool({ name: "calc__hidden", arguments: {} })).rejects.toThrow(
      /refused by registry/,
    );
    await client.close();
  });

  it("lets a stage ask the calling client through ctx.client.elicit", async () => {
    const client = await authed();
    expect(textOf(await client.callTool({ name: "calc__ask", arguments: {} }))).toBe("ask");
    expect(seen.at(-1)?.annotations.approval).toEqual({ action: "accept", content: { ok: true } });
    await client.close();
  });

  it("asks a 2026-07-28 client through an input_required round (stateless, v2 client)", async () => {
    const { Client, StreamableHTTPClientTransport } = await import("@modelcontextprotocol/client");
    const client = new Client(
      { name: "v2", version: "1" },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: "2026-07-28" } } },
    );
    client.setRequestHandler("elicitation/create", async (req) => ({
      action: "accept",
      content: { seen: String(req.params.message) },
    }));
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${door.url}/mcp`), {
        requestInit: { headers: { authorization: "Bearer dora" } },
      }),
    );
    try {
      expect(textOf(await client.callTool({ name: "calc__ask", arguments: {} }))).toBe("ask");
      expect(seen.at(-1)?.annotations.approval).toEqual({ action: "accept", content: { seen: "approve?" } });
    } finally {
      await client.close();
    }
  });
});

describe("plugins", () => {
  it("builds stages in order and refuses two authenticators", async () => {
    const ctx = { config: warden.config, environment: "test", configDir: "." };
    const built = await buildPlugins(ctx, [
      { name: "audit", order: 80, stage: () => ({ name: "audit" }) },
      { name: "policy", order: 40, stage: () => ({ name: "policy" }) },
    ]);
    expect(built.stages.map((s) => s.name)).toEqual(["policy", "audit"]);
    const auth = () => async () => ({
      user: "x",
      tenant: "t",
      roles: [],
      scopes: [],
      authMethod: "jwt" as const,
    });
    await expect(
      buildPlugins(ctx, [
        { name: "a", authenticate: auth },
        { name: "b", authenticate: auth },
      ]),
    ).rejects.toThrow(/two plugins authenticate/);
  });
});
