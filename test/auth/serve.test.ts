// `warden serve --http` as a real child process with an `auth` section: the plugins registered
// by the keys command module are what the real binary uses.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { KeyStore } from "../../src/auth/keyStore.js";
import {
  freePort,
  REPO_ROOT,
  type Running,
  startChild,
  tsNode,
  waitForHttp,
} from "../fixtures/servers/child-process.js";

let running: Running;
let base: string;
let token: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "warden-serve-auth-"));
  mkdirSync(join(dir, "registry"));
  writeFileSync(join(dir, "registry", "test.yaml"), stringify({ servers: {} }));
  writeFileSync(
    join(dir, "warden.yaml"),
    stringify({
      environment: "test",
      registry: { dir: "registry" },
      servers: {},
      auth: { stateDir: "state", resourceMetadata: { authorizationServers: ["https://login.example.com/"] } },
      limits: { default: { sessionCallBudget: 10 } },
      metrics: { enabled: false },
    }),
  );
  token = new KeyStore(join(dir, "state", "keys.json")).create({
    name: "ci",
    tenant: "acme",
    roles: ["agent"],
  }).token;
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
  running = startChild(cmd.command, cmd.args);
  try {
    await waitForHttp(`${base}/mcp`, 110_000);
  } catch (e) {
    throw new Error(`warden serve did not start: ${(e as Error).message}\n${running.stderr()}`);
  }
}, 120_000);

afterAll(async () => {
  await running?.stop();
});

describe("warden serve --http with an auth section", () => {
  it("refuses a request without credentials with 401 and the metadata pointer; serves the metadata", async () => {
    const res = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(res.status).toBe(401);
    const www = res.headers.get("www-authenticate") ?? "";
    expect(www).toBe(`Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    const meta = await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json();
    expect(meta).toMatchObject({
      resource: `${base}/mcp`,
      authorization_servers: ["https://login.example.com/"],
    });
  });

  it("accepts an API key from the key store", async () => {
    const client = new Client({ name: "t", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    expect((await client.listTools()).tools).toEqual([]);
    await client.close();
  });

  it("mounts the approvals admin API behind approver credentials", async () => {
    expect((await fetch(`${base}/admin/approvals`)).status).toBe(401);
    expect(
      (await fetch(`${base}/admin/approvals`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(403);
  });
});
