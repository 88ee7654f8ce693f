// The identity/limits/approval plugins as `warden serve` builds them from warden.yaml sections.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyStore } from "../../src/auth/keyStore.js";
import { registerIdentityPlugins } from "../../src/auth/plugin.js";
import { ConfigError, parseConfig } from "../../src/config/load.js";
import { buildPlugins, registeredPlugins } from "../../src/server/plugins.js";
import { freePort } from "../fixtures/servers/child-process.js";

registerIdentityPlugins();
registerIdentityPlugins(); // idempotent: program.ts may be built more than once
const mine = () => registeredPlugins().filter((p) => ["identity", "limits", "approval"].includes(p.name));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "warden-plugin-"));
});
afterAll(() => {});

describe("identity plugins", () => {
  it("validate their warden.yaml sections with clear errors", () => {
    expect(() => parseConfig({ auth: { apiKeys: { enabled: "yes" } } })).toThrow(ConfigError);
    expect(() => parseConfig({ limits: { default: { perSubject: { limit: 0 } } } })).toThrow(/limits/);
    expect(() => parseConfig({ approval: { mode: "sometimes" } })).toThrow(/approval/);
    expect(() =>
      parseConfig({
        auth: { jwt: { enabled: true, issuer: "x", algorithms: ["none"], jwksUrl: "http://x/j" } },
      }),
    ).toThrow(/none/);
  });

  it("without an auth section: no authenticate hook, no routes; limits and approval stages always present", async () => {
    const loaded = parseConfig({});
    const b = await buildPlugins({ config: loaded.config, environment: "dev", configDir: dir }, mine());
    expect(b.authenticate).toBeUndefined();
    expect(b.routes).toEqual([]);
    expect(b.stages.map((s) => s.name)).toEqual(["limits", "approval"]);
  });

  it("with auth and limits sections: authenticate hook, metadata and admin routes, limits before approval", async () => {
    const keys = new KeyStore(join(dir, "state", "keys.json"));
    const { token } = keys.create({ name: "k", tenant: "acme", roles: ["agent"] });
    const loaded = parseConfig(
      {
        auth: { stateDir: "state", resourceMetadata: { resource: "https://warden.example/mcp" } },
        limits: { default: { perSubject: { limit: 10 } } },
      },
      { baseDir: dir },
    );
    const b = await buildPlugins({ config: loaded.config, environment: "dev", configDir: dir }, mine());
    expect(b.stages.map((s) => s.name)).toEqual(["limits", "approval"]);
    expect(b.routes.map((r) => r.path)).toEqual([
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
      "/admin/approvals",
    ]);
    const req = (h: Record<string, string>) => ({ headers: h, socket: {} }) as never;
    const subject = await b.authenticate?.(req({ authorization: `Bearer ${token}` }));
    expect(subject).toMatchObject({ tenant: "acme", authMethod: "api_key" });
    const err = await b.authenticate?.(req({})).catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: "AuthenticationRequired",
      status: 401,
      wwwAuthenticate:
        'Bearer resource_metadata="https://warden.example/.well-known/oauth-protected-resource/mcp"',
    });
  });

  it("approval.adminServer runs the admin API on its own listener (stdio serve) and closes with the plugins", async () => {
    const keys = new KeyStore(join(dir, "adm", "keys.json"));
    const { token } = keys.create({ name: "carol", tenant: "acme", roles: ["approver"] });
    const port = await freePort();
    const loaded = parseConfig(
      { auth: { stateDir: "adm" }, approval: { adminServer: { port } } },
      { baseDir: dir },
    );
    const b = await buildPlugins({ config: loaded.config, environment: "dev", configDir: dir }, mine());
    try {
      const url = `http://127.0.0.1:${port}/admin/approvals`;
      expect((await fetch(url)).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ approvals: [] });
    } finally {
      await b.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/admin/approvals`)).rejects.toThrow();
    const noAuth = parseConfig({ approval: { adminServer: { port } } });
    await expect(
      buildPlugins({ config: noAuth.config, environment: "dev", configDir: dir }, mine()),
    ).rejects.toThrow(/needs an `auth` section/);
  });
});
