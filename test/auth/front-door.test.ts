// Identity, limits and approval through warden's real HTTP front door, in front of the real
// @modelcontextprotocol/server-memory. A refused call must never reach it: the proof is the
// memory graph, read back with valid credentials afterwards.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApprovalAdminHandler, DEFAULT_ADMIN_BASE } from "../../src/approval/adminApi.js";
import { parseApprovalConfig } from "../../src/approval/config.js";
import { createApprovalStage } from "../../src/approval/stage.js";
import { MemoryAuditSink } from "../../src/auth/audit.js";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { parseAuthConfig } from "../../src/auth/config.js";
import { frontDoorAuthenticate, resourceMetadataRoutes } from "../../src/auth/frontDoor.js";
import { KeyStore } from "../../src/auth/keyStore.js";
import { register as registerApprovalsCli } from "../../src/cli/commands/approvals.js";
import { parseLimitsConfig } from "../../src/limits/config.js";
import { createLimitsStage } from "../../src/limits/stage.js";
import type { CallContext, Stage, Subject } from "../../src/pipeline/types.js";
import { buildDecisionInput } from "../../src/policy/input.js";
import { parseRegistry } from "../../src/registry/registry.js";
import type { HttpFrontDoor } from "../../src/server/http.js";
import { silentLogger } from "../../src/server/logger.js";
import { createWarden, type Warden } from "../../src/server/warden.js";
import { freePort } from "../fixtures/servers/child-process.js";
import { startIssuer, type TestIssuer, unsecuredJwt } from "./jwks-server.js";

const require = createRequire(import.meta.url);
const MEMORY_BIN = join(
  dirname(require.resolve("@modelcontextprotocol/server-memory/package.json")),
  "dist/index.js",
);
const ROOT = join(dirname(new URL(import.meta.url).pathname), "../..");

let dir: string;
let warden: Warden;
let door: HttpFrontDoor;
let issuer: TestIssuer;
let keys: KeyStore;
let audit: MemoryAuditSink;
let resource: string;
const tok: Record<string, string> = {};
let limitsClock = Date.now();
/** Subjects and policy-input subjects seen by the pipeline, per tool call. */
const seen: Array<{ subject: Subject; input: unknown }> = [];

// Stands in for the policy stage: risk metadata from the registry decides approval.
const decide: Stage = {
  name: "decide",
  before(ctx: CallContext) {
    if (ctx.method !== "tools/call") return;
    seen.push({ subject: ctx.subject, input: buildDecisionInput(ctx).subject });
    ctx.decision = {
      allow: true,
      reasons: ctx.toolMeta?.requiresApproval ? ["writes to the knowledge graph"] : [],
      requireApproval: Boolean(ctx.toolMeta?.requiresApproval),
      obligations: [],
      auditTags: [],
    };
  },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-identity-e2e-"));
  issuer = await startIssuer();
  audit = new MemoryAuditSink();
  keys = new KeyStore(join(dir, "keys.json"), 0);
  tok.agentA = keys.create({
    name: "agent",
    tenant: "acme",
    team: "data",
    roles: ["agent"],
    scopes: ["tools"],
  }).token;
  tok.agentB = keys.create({ name: "bagent", tenant: "globex", roles: ["agent"] }).token;
  tok.approverA = keys.create({ name: "carol", tenant: "acme", roles: ["approver"] }).token;
  tok.approverB = keys.create({ name: "dave", tenant: "globex", roles: ["approver"] }).token;
  const revoked = keys.create({ name: "old", tenant: "acme" });
  keys.revoke(revoked.info.id);
  tok.revoked = revoked.token;
  const expiring = keys.create({ name: "temp", tenant: "acme", expiresAt: new Date(Date.now() + 3_600_000) });
  tok.expired = expiring.token;
  // age the key on disk, as if an hour had passed
  const file = JSON.parse(readFileSync(keys.file, "utf8"));
  for (const k of file.keys)
    if (k.id === expiring.info.id) k.expiresAt = new Date(Date.now() - 1000).toISOString();
  writeFileSync(keys.file, JSON.stringify(file));

  warden = await createWarden({
    config: {
      servers: {
        memory: {
          command: process.execPath,
          args: [MEMORY_BIN],
          env: { MEMORY_FILE_PATH: join(dir, "mem.jsonl") },
        },
      },
    },
    env: "test",
    registry: parseRegistry(
      {
        servers: {
          memory: {
            tools: [
              { name: "read_graph", risk: "low" },
              { name: "create_entities", risk: "high", requires_approval: true },
            ],
          },
        },
      },
      "test",
    ),
    stages: [
      decide,
      // a controllable clock: the limit must not depend on how fast this loaded machine runs
      createLimitsStage(
        parseLimitsConfig({ default: { perTool: { read_graph: { limit: 1, per: "minute", burst: 3 } } } }),
        { now: () => limitsClock },
      ),
      createApprovalStage({
        config: parseApprovalConfig({ mode: "auto", holdSeconds: 0 }),
        audit,
      }),
    ],
    log: silentLogger,
  });
  const approval = warden.pipeline.stages.find((s) => s.name === "approval") as ReturnType<
    typeof createApprovalStage
  >;
  const port = await freePort();
  resource = `http://127.0.0.1:${port}/mcp`;
  const cfg = parseAuthConfig({
    stateDir: dir,
    jwt: {
      enabled: true,
      issuer: issuer.url,
      audience: resource,
      algorithms: ["ES256"],
      jwksUrl: issuer.jwksUrl,
      claims: { user: "sub", tenant: "tid", roles: "roles", scopes: "scope" },
    },
    resourceMetadata: { resource, authorizationServers: [issuer.url], scopesSupported: ["tools"] },
  });
  const auth = createAuthenticator(cfg, { keyStore: keys, audit });
  const admin = createApprovalAdminHandler({
    store: approval.store,
    authenticate: auth.authenticate,
    approverRoles: ["approver", "admin"],
    audit,
  });
  door = await warden.listenHttp({
    port,
    authenticate: frontDoorAuthenticate(auth),
    routes: [
      ...resourceMetadataRoutes(cfg.resourceMetadata),
      {
        path: DEFAULT_ADMIN_BASE,
        async handler(req, res) {
          await admin(req, res);
        },
      },
    ],
  });
});

afterAll(async () => {
  await warden?.close();
  await issuer?.close();
});

async function connect(token: string, opts: { elicit?: "accept" | "decline" } = {}): Promise<Client> {
  limitsClock += 3_600_000; // each connection starts with full buckets
  const client = new Client(
    { name: "e2e", version: "1" },
    { capabilities: opts.elicit ? { elicitation: {} } : {} },
  );
  if (opts.elicit) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      expect(req.params.message).toMatch(/Tool: create_entities/);
      return opts.elicit === "accept"
        ? { action: "accept", content: { approve: true } }
        : { action: "decline" };
    });
  }
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${door.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

function raw(headers: Record<string, string>) {
  return fetch(`${door.url}/mcp`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    }),
  });
}

async function entityNames(): Promise<string[]> {
  limitsClock += 3_600_000; // reading back is not what the rate-limit test measures
  const c = await connect(tok.agentA);
  try {
    const r = (await c.callTool({ name: "memory__read_graph", arguments: {} })) as {
      structuredContent?: { entities?: Array<{ name: string }> };
      content: Array<{ text?: string }>;
    };
    const graph = r.structuredContent ?? JSON.parse(r.content[0]?.text ?? "{}");
    return (graph.entities ?? []).map((e: { name: string }) => e.name);
  } finally {
    await c.close();
  }
}

const entity = (name: string) => ({ entities: [{ name, entityType: "test", observations: ["x"] }] });

async function admin(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${door.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function callError(c: Client, name: string, args: Record<string, unknown>): Promise<McpError> {
  try {
    await c.callTool({ name, arguments: args });
  } catch (e) {
    if (e instanceof McpError) return e;
    throw e;
  }
  throw new Error("expected the call to be refused");
}

/** The approvals CLI in this process (commander + the real command module), for quick checks. */
async function cliInProcess(args: string[], key: string) {
  const out: string[] = [];
  const err: string[] = [];
  const w1 = vi.spyOn(process.stdout, "write").mockImplementation((c) => {
    out.push(String(c));
    return true;
  });
  const w2 = vi.spyOn(process.stderr, "write").mockImplementation((c) => {
    err.push(String(c));
    return true;
  });
  const prevKey = process.env.WARDEN_ADMIN_KEY;
  process.env.WARDEN_ADMIN_KEY = key;
  process.exitCode = 0;
  try {
    const program = new Command("warden").exitOverride();
    registerApprovalsCli(program);
    await program.parseAsync(["node", "warden", "approvals", ...args]);
    return { code: process.exitCode, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.exitCode = 0;
    process.env.WARDEN_ADMIN_KEY = prevKey;
    w1.mockRestore();
    w2.mockRestore();
  }
}

/** The real `warden` CLI as a child process. */
function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/index.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c) => (stdout += c));
    p.stderr.on("data", (c) => (stderr += c));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("credentials at the HTTP front door", () => {
  it("without a credential: 401 pointing at RFC 9728 metadata, which names this resource", async () => {
    const res = await raw({});
    expect(res.status).toBe(401);
    const www = res.headers.get("www-authenticate") ?? "";
    const m = /^Bearer resource_metadata="([^"]+)"$/.exec(www);
    expect(m).not.toBeNull();
    const meta = await (await fetch(m?.[1] ?? "")).json();
    expect(meta).toMatchObject({
      resource,
      authorization_servers: [issuer.url],
      bearer_methods_supported: ["header"],
      scopes_supported: ["tools"],
    });
  });

  it.each([
    ["a wrong API key", () => `wk_${"a".repeat(12)}_${"b".repeat(43)}`],
    ["a revoked API key", () => tok.revoked],
    ["an expired API key", () => tok.expired],
    [
      "a JWT for another audience",
      () => issuer.sign({ sub: "u", tid: "acme", iss: issuer.url, aud: "http://other/mcp" }),
    ],
    [
      "a JWT from another issuer",
      () => issuer.sign({ sub: "u", tid: "acme", iss: "http://evil", aud: resource }),
    ],
    [
      "an unsigned JWT (alg none)",
      () => unsecuredJwt({ sub: "u", tid: "acme", iss: issuer.url, aud: resource }),
    ],
    [
      "an expired JWT",
      () =>
        issuer.sign(
          { sub: "u", tid: "acme", iss: issuer.url, aud: resource },
          { exp: Math.floor(Date.now() / 1000) - 300 },
        ),
    ],
  ])("refuses %s with 401 invalid_token", async (_label, make) => {
    const res = await raw({ authorization: `Bearer ${await make()}` });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("a refused caller never reaches the downstream server", async () => {
    for (const t of [
      tok.revoked,
      tok.expired,
      unsecuredJwt({ sub: "u", tid: "acme", iss: issuer.url, aud: resource }),
    ]) {
      const res = await fetch(`${door.url}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${t}`,
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "memory__create_entities", arguments: entity("intruder") },
        }),
      });
      expect(res.status).toBe(401);
    }
    expect(await entityNames()).not.toContain("intruder");
    expect(audit.events.filter((e) => e.event === "auth.failed").map((e) => e.reason)).toEqual(
      expect.arrayContaining(["api_key_revoked", "api_key_expired", "jwt_bad_algorithm", "no_credential"]),
    );
  });

  it("an API key maps to its subject in the policy input", async () => {
    seen.length = 0;
    const c = await connect(tok.agentA);
    await c.callTool({ name: "memory__read_graph", arguments: {} });
    await c.close();
    expect(seen[0].subject).toMatchObject({
      user: "key:agent",
      tenant: "acme",
      team: "data",
      roles: ["agent"],
      scopes: ["tools"],
      authMethod: "api_key",
    });
    expect(seen[0].input).toMatchObject({
      user: "key:agent",
      tenant: "acme",
      team: "data",
      auth_method: "api_key",
    });
  });

  it("a JWT maps to its subject by the configured claims", async () => {
    seen.length = 0;
    const jwt = await issuer.sign({
      sub: "erin",
      tid: "acme",
      roles: ["analyst"],
      scope: "tools read",
      iss: issuer.url,
      aud: resource,
    });
    const c = await connect(jwt);
    await c.callTool({ name: "memory__read_graph", arguments: {} });
    await c.close();
    expect(seen[0].subject).toMatchObject({
      user: "erin",
      tenant: "acme",
      roles: ["analyst"],
      scopes: ["tools", "read"],
      authMethod: "jwt",
    });
  });

  it("a session opened by one tenant cannot be used with another tenant's key", async () => {
    const c = await connect(tok.agentA);
    const sessionId = (c.transport as StreamableHTTPClientTransport).sessionId ?? "";
    const res = await fetch(`${door.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${tok.agentB}`,
        "mcp-session-id": sessionId,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list", params: {} }),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    await c.close();
  });
});

describe("rate limits through the front door", () => {
  it("returns a clear MCP error with retry-after, then recovers", async () => {
    const c = await connect(tok.agentA);
    limitsClock += 3_600_000; // full buckets
    let err: McpError | undefined;
    for (let i = 0; i < 10 && !err; i++) {
      try {
        await c.callTool({ name: "memory__read_graph", arguments: {} });
      } catch (e) {
        err = e as McpError;
      }
    }
    expect(err?.message).toMatch(/refused by limits: rate limit exceeded \(tool\); retry in 60 s/);
    expect(err?.data).toMatchObject({ stage: "limits", reason: "rate_limited", retryAfterSeconds: 60 });
    limitsClock += 60_000;
    await c.callTool({ name: "memory__read_graph", arguments: {} });
    await c.close();
  });
});

describe("human approval through the front door", () => {
  it("a client that accepts the elicitation gets the call run", async () => {
    const c = await connect(tok.agentA, { elicit: "accept" });
    await c.callTool({ name: "memory__create_entities", arguments: entity("accepted") });
    await c.close();
    expect(await entityNames()).toContain("accepted");
    expect(audit.events.find((e) => e.event === "approval.approved" && e.via === "elicitation")).toBeTruthy();
  });

  it("a client that declines gets a refusal and nothing runs", async () => {
    const c = await connect(tok.agentA, { elicit: "decline" });
    const e = await callError(c, "memory__create_entities", entity("declined"));
    expect(e.message).toMatch(/refused by approval: the call was declined by the user/);
    await c.close();
    expect(await entityNames()).not.toContain("declined");
  });

  it("without elicitation the call is held; other tenants cannot see or approve it; approval by CLI runs it", async () => {
    const c = await connect(tok.agentA);
    const e = await callError(c, "memory__create_entities", entity("by-cli"));
    expect(e.data).toMatchObject({ reason: "approval_pending" });
    const id = String((e.data as { approvalId: string }).approvalId);

    expect(
      (await admin(tok.approverB, "GET", `${DEFAULT_ADMIN_BASE}?status=pending`)).body.approvals,
    ).toEqual([]);
    expect((await admin(tok.approverB, "POST", DEFAULT_ADMIN_BASE, { id, action: "approve" })).status).toBe(
      404,
    );
    expect((await admin(tok.agentA, "GET", DEFAULT_ADMIN_BASE)).status).toBe(403);
    const bCli = await cli(["approvals", "approve", id, "--url", door.url], {
      WARDEN_ADMIN_KEY: tok.approverB,
    });
    expect(bCli.code).toBe(1);
    expect(bCli.stderr).toMatch(/404/);

    const listed = await cliInProcess(["list", "--url", door.url], tok.approverA);
    expect(listed.stdout).toContain(id);
    const ok = await cli(["approvals", "approve", id, "--url", door.url, "--comment", "fine"], {
      WARDEN_ADMIN_KEY: tok.approverA,
    });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/approved/);
    expect(await entityNames()).not.toContain("by-cli");
    await c.callTool({ name: "memory__create_entities", arguments: entity("by-cli") });
    await c.close();
    expect(await entityNames()).toContain("by-cli");
  }, 120_000); // spawns the real CLI, which is slow on a loaded 2-core machine

  it("approval by the admin API runs it; denial (CLI module in-process) refuses it", async () => {
    const c = await connect(tok.agentA);
    const e1 = await callError(c, "memory__create_entities", entity("by-api"));
    const id1 = String((e1.data as { approvalId: string }).approvalId);
    expect(
      (await admin(tok.approverA, "POST", DEFAULT_ADMIN_BASE, { id: id1, action: "approve" })).status,
    ).toBe(200);
    await c.callTool({ name: "memory__create_entities", arguments: entity("by-api") });

    const e2 = await callError(c, "memory__create_entities", entity("denied"));
    const id2 = String((e2.data as { approvalId: string }).approvalId);
    const d = await cliInProcess(["deny", id2, "--url", door.url, "--comment", "no"], tok.approverA);
    expect(d.code).toBe(0);
    const e3 = await callError(c, "memory__create_entities", entity("denied"));
    expect(e3.message).toMatch(/denied by key:carol: no/);
    await c.close();
    const names = await entityNames();
    expect(names).toContain("by-api");
    expect(names).not.toContain("denied");
  });
});
