// The kill switch admin endpoint over real HTTP: a real `warden serve --http` with API-key
// identity, the shipped policies, the audit ledger and metrics. Unauthenticated and
// unprivileged callers are refused (and the refusals audited and counted); an admin reads and
// flips the switch, which turns enforcement into dry-run for real calls and back.
import { mkdtemp, readFile, realpath } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { verifyLedger } from "../../src/audit/verify.js";
import { KeyStore } from "../../src/auth/keyStore.js";
import { metricsConfigSchema } from "../../src/metrics/config.js";
import { KILL_SWITCH_PATH, killSwitchRoute } from "../../src/policy/admin.js";
import { policyConfigSchema } from "../../src/policy/config.js";
import { createGovernance } from "../../src/policy/governance.js";
import { parseRegistry } from "../../src/registry/registry.js";
import { createWarden } from "../../src/server/warden.js";
import { freePort, startWardenHttp } from "../fixtures/servers/child-process.js";
import { call, POLICIES, writeServeConfig } from "./harness.js";

async function admin(base: string, token: string | undefined, body?: unknown, raw?: string) {
  const res = await fetch(`${base}${KILL_SWITCH_PATH}`, {
    method: body !== undefined || raw !== undefined ? "POST" : "GET",
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      "content-type": "application/json",
    },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("kill switch admin endpoint (warden serve --http)", () => {
  it("refuses unauthenticated and unprivileged callers, lets an admin flip it, audits and counts", async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), "warden-kill-admin-")));
    const files = join(dir, "files");
    const metricsPort = await freePort();
    await writeServeConfig(dir, files, {
      auth: { stateDir: "state" },
      policy: { paths: [POLICIES], watch: false },
      audit: { path: "audit/audit.jsonl", durability: "write" },
      metrics: { port: metricsPort, processMetrics: false },
    });
    const keys = new KeyStore(join(dir, "state", "keys.json"));
    const agent = keys.create({ name: "agent", tenant: "acme", roles: ["agent"] }).token;
    const root = keys.create({ name: "root", tenant: "acme", roles: ["admin"] }).token;
    const warden = await startWardenHttp(join(dir, "warden.yaml"));
    const base = warden.url.replace(/\/mcp$/, "");
    const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const client = new Client({ name: "agent", version: "1" });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL(warden.url), {
          requestInit: { headers: { authorization: `Bearer ${agent}` } },
        }),
      );
      const dangerous = { path: join(files, "a"), content: "rm -rf ~" };
      expect((await call(client, "fs__write_file", dangerous)).error).toMatch(/dangerous argument/);

      // No credentials, a wrong key, a caller without the admin role: refused, nothing changes.
      expect((await admin(base, undefined, { on: true })).status).toBe(401);
      expect((await admin(base, "wk_nope_nope", { on: true })).status).toBe(401);
      const forbidden = await admin(base, agent, { on: true });
      expect(forbidden).toEqual({
        status: 403,
        body: { error: "forbidden", error_description: "requires role admin" },
      });
      expect((await admin(base, agent)).status).toBe(403);
      expect((await admin(base, root)).body).toMatchObject({ killSwitch: false, mode: "enforce" });
      // Bad input: a clear error and no change.
      const bad = await admin(base, root, { on: "yes" });
      expect(bad).toEqual({
        status: 400,
        body: { error: "invalid_request", error_description: '"on" must be true or false' },
      });
      expect((await admin(base, root, undefined, "{not json")).status).toBe(400);
      expect((await admin(base, root)).body.killSwitch).toBe(false);

      const on = await admin(base, root, { on: true, reason: "incident 42" });
      expect(on).toMatchObject({ status: 200, body: { killSwitch: true, mode: "enforce" } });
      expect(await metrics()).toMatch(/^policy_kill_switch 1$/m);
      expect((await call(client, "fs__write_file", dangerous)).ok).toBe(true); // dry-run: would_deny

      expect((await admin(base, root, { on: false })).body.killSwitch).toBe(false);
      expect((await call(client, "fs__write_file", dangerous)).error).toMatch(/dangerous argument/);

      const text = await metrics();
      expect(text).toMatch(/^policy_kill_switch 0$/m);
      expect(text).toMatch(/^policy_kill_switch_changes_total\{source="admin_api"\} 2$/m);
      expect(text).toMatch(/^policy_admin_requests_total\{action="set",outcome="ok"\} 2$/m);
      expect(text).toMatch(/^policy_admin_requests_total\{action="set",outcome="forbidden"\} 1$/m);
      expect(text).toMatch(/^policy_admin_requests_total\{action="read",outcome="forbidden"\} 1$/m);
      expect(text).toMatch(/^policy_admin_requests_total\{action="set",outcome="invalid_request"\} 2$/m);
    } finally {
      await client.close().catch(() => {});
      await warden.stop();
    }
    const ledger = join(dir, "audit/audit.jsonl");
    expect((await verifyLedger([ledger])).ok).toBe(true);
    const recs = (await readFile(ledger, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const flips = recs.filter((r) => r.decision === "kill_switch_on" || r.decision === "kill_switch_off");
    expect(flips).toHaveLength(2);
    expect(flips[0]).toMatchObject({
      event: "policy",
      decision: "kill_switch_on",
      subject: { user: "key:root", tenant: "acme", authMethod: "api_key" },
      reasons: ["incident 42"],
      detail: { source: "admin_api", changed: true },
    });
    expect(flips[1]).toMatchObject({ decision: "kill_switch_off", subject: { user: "key:root" } });
    const refused = recs.filter((r) => r.decision === "admin_refused");
    expect(refused.map((r) => r.subject.user)).toEqual(["key:agent", "key:agent"]);
    expect(recs.find((r) => r.decision === "would_deny")).toBeDefined();
  }, 120_000);

  it("refuses everyone when no identity is configured (anonymous callers get 401)", async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), "warden-kill-anon-")));
    const gov = await createGovernance({
      configDir: dir,
      environment: "dev",
      policy: policyConfigSchema.parse({ paths: [POLICIES], watch: false, warmup: 0 }),
      metrics: metricsConfigSchema.parse({ port: 0, processMetrics: false }),
      signals: false,
    });
    const warden = await createWarden({
      config: { servers: {} },
      env: "dev",
      registry: parseRegistry({ servers: {} }, "dev"),
      log: () => {},
    });
    const route = killSwitchRoute({
      roles: ["admin"],
      targets: async () => ({ engine: gov.engine, metrics: gov.metrics }),
    });
    const door = await warden.listenHttp({ host: "127.0.0.1", port: 0, routes: [route] });
    try {
      const res = await admin(door.url, undefined, { on: true });
      expect(res.status).toBe(401);
      expect(res.body.error_description).toMatch(/needs an authenticated caller/);
      expect(gov.engine?.killSwitch).toBe(false);
      expect(await gov.metrics?.text()).toMatch(
        /^policy_admin_requests_total\{action="set",outcome="unauthorized"\} 1$/m,
      );
    } finally {
      await warden.close();
      await gov.close();
    }
  });
});
