// The whole governed path in a real `warden serve --http` process: API-key identity, the
// shipped Rego policies (high-risk tool → require_approval), the approval stage holding the
// call, an approver of the same tenant deciding through the admin API, and the audit ledger
// recording who decided. Downstream: the real @modelcontextprotocol/server-memory.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { KeyStore, parseApiKey } from "../../src/auth/keyStore.js";
import {
  freePort,
  REPO_ROOT,
  type Running,
  startChild,
  tsNode,
  waitForHttp,
} from "../fixtures/servers/child-process.js";

const require = createRequire(import.meta.url);
const MEMORY_BIN = join(
  dirname(require.resolve("@modelcontextprotocol/server-memory/package.json")),
  "dist/index.js",
);

let dir: string;
let running: Running;
let base: string;
const tok: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "warden-serve-governed-"));
  mkdirSync(join(dir, "registry"));
  writeFileSync(
    join(dir, "registry", "dev.yaml"),
    stringify({
      servers: {
        memory: {
          tools: [
            { name: "read_graph", risk: "low" },
            { name: "create_entities", risk: "high" },
          ],
        },
      },
    }),
  );
  writeFileSync(
    join(dir, "warden.yaml"),
    stringify({
      environment: "dev",
      registry: { dir: "registry" },
      servers: {
        memory: {
          command: process.execPath,
          args: [MEMORY_BIN],
          env: { MEMORY_FILE_PATH: join(dir, "memory.jsonl") },
        },
      },
      auth: { stateDir: "state" },
      policy: { paths: [join(REPO_ROOT, "policies")], watch: false },
      audit: { path: "audit/audit.jsonl", durability: "write" },
      metrics: { enabled: false },
      approval: { mode: "pending", holdSeconds: 0 },
    }),
  );
  const keys = new KeyStore(join(dir, "state", "keys.json"));
  tok.agent = keys.create({ name: "agent", tenant: "acme", roles: ["agent"] }).token;
  tok.carol = keys.create({ name: "carol", tenant: "acme", roles: ["approver"] }).token;
  tok.dave = keys.create({ name: "dave", tenant: "globex", roles: ["approver"] }).token;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const cmd = tsNode(join(REPO_ROOT, "src/cli/index.ts"), [
    "serve",
    "--http",
    "--config",
    join(dir, "warden.yaml"),
    "--port",
    String(port),
  ]);
  running = startChild(cmd.command, cmd.args, { env: { ...process.env, WARDEN_AUDIT_KEY: "k".repeat(32) } });
  try {
    await waitForHttp(`${base}/mcp`, 110_000);
  } catch (e) {
    throw new Error(`warden serve did not start: ${(e as Error).message}\n${running.stderr()}`);
  }
}, 120_000);

afterAll(async () => {
  await running?.stop();
});

async function connect(): Promise<Client> {
  const client = new Client({ name: "agent", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${tok.agent}` } },
    }),
  );
  return client;
}

async function admin(token: string, body?: unknown) {
  const res = await fetch(`${base}/admin/approvals${body ? "" : "?status=pending"}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const entity = { entities: [{ name: "governed", entityType: "test", observations: ["x"] }] };

describe("warden serve: policy requires approval, an approver decides", () => {
  it("holds the high-risk call until an approver of the same tenant approves it, and audits who did", async () => {
    const c = await connect();
    let err: McpError | undefined;
    try {
      await c.callTool({ name: "memory__create_entities", arguments: entity });
    } catch (e) {
      err = e as McpError;
    }
    if (!(err instanceof McpError))
      throw new Error(`expected a refusal, got ${String(err)}\n${running.stderr()}`);
    expect(err.data).toMatchObject({ stage: "approval", reason: "approval_pending" });
    const id = String((err.data as { approvalId: string }).approvalId);

    expect((await admin(tok.dave)).body.approvals).toEqual([]);
    expect((await admin(tok.dave, { id, action: "approve" })).status).toBe(404);
    const pending = (await admin(tok.carol)).body.approvals as Array<{ id: string; reasons: string[] }>;
    expect(pending.map((a) => a.id)).toEqual([id]);
    expect((await admin(tok.carol, { id, action: "approve", comment: "ok" })).status).toBe(200);

    const r = (await c.callTool({ name: "memory__create_entities", arguments: entity })) as {
      isError?: boolean;
    };
    expect(r.isError).toBeFalsy();
    const graph = (await c.callTool({ name: "memory__read_graph", arguments: {} })) as {
      content: Array<{ text?: string }>;
    };
    expect(graph.content.map((x) => x.text).join("")).toContain("governed");
    await c.close();

    const ledger = readFileSync(join(dir, "audit", "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const events = ledger.map((l) => l.event);
    expect(events).toEqual(
      expect.arrayContaining(["approval.requested", "approval.approved", "approval.consumed"]),
    );
    const approved = ledger.find((l) => l.event === "approval.approved");
    expect(JSON.stringify(approved)).toContain("key:carol");
    expect(readFileSync(join(dir, "audit", "audit.jsonl"), "utf8")).not.toContain(
      parseApiKey(tok.agent)?.secret ?? "(unparsable key)",
    );
  }, 60_000);
});
