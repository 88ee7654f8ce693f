import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MemoryAuditSink } from "../../src/auth/audit.js";
import { createAuthenticator, credentialFrom } from "../../src/auth/authenticator.js";
import { parseAuthConfig } from "../../src/auth/config.js";
import { AuthError } from "../../src/auth/errors.js";
import { KeyStore } from "../../src/auth/keyStore.js";
import { resourceMetadataDocument, resourceMetadataUrl } from "../../src/auth/resourceMetadata.js";

const req = (headers: Record<string, string>) =>
  ({ headers: { host: "127.0.0.1:8787", ...headers }, socket: {} }) as never;

function setup(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "warden-authn-"));
  const keys = new KeyStore(join(dir, "keys.json"), 0);
  const audit = new MemoryAuditSink();
  const auth = createAuthenticator(parseAuthConfig({ stateDir: dir, ...extra }), { keyStore: keys, audit });
  return { keys, audit, auth };
}

async function authError(p: Promise<unknown>): Promise<AuthError> {
  const e = await p.catch((x: unknown) => x);
  if (e instanceof AuthError) return e;
  throw new Error(`expected AuthError, got ${String(e)}`);
}

describe("credentialFrom", () => {
  it("reads Bearer and X-API-Key, treats other schemes as no credential", () => {
    expect(credentialFrom(req({ authorization: "Bearer abc" }))).toBe("abc");
    expect(credentialFrom(req({ authorization: "bearer   abc  " }))).toBe("abc");
    expect(credentialFrom(req({ authorization: "Bearer" }))).toBe("");
    expect(credentialFrom(req({ authorization: "Bearer a b" }))).toBe("");
    expect(credentialFrom(req({ authorization: "Basic dXNlcjpwYXNz" }))).toBeUndefined();
    expect(credentialFrom(req({ "x-api-key": "wk_x" }))).toBe("wk_x");
    expect(credentialFrom(req({ "x-api-key": "eyJhbGciOi" }))).toBe("");
    expect(credentialFrom(req({}))).toBeUndefined();
  });
});

describe("createAuthenticator", () => {
  it("maps an API key (Bearer or X-API-Key) to its subject and records use once per interval", async () => {
    const { keys, audit, auth } = setup();
    const { token, info } = keys.create({
      name: "bot",
      tenant: "acme",
      team: "ops",
      roles: ["agent"],
      scopes: ["s"],
    });
    const expected = {
      user: "key:bot",
      tenant: "acme",
      team: "ops",
      roles: ["agent"],
      scopes: ["s"],
      authMethod: "api_key",
      credentialId: info.id,
    };
    expect(await auth.authenticate(req({ authorization: `Bearer ${token}` }))).toEqual(expected);
    expect(await auth.authenticate(req({ "x-api-key": token }))).toEqual(expected);
    expect(audit.events.filter((e) => e.event === "auth.key_used")).toHaveLength(1);
    expect(keys.get(info.id)?.lastUsedAt).toBeTruthy();
  });

  it("a cached key stops working as soon as it is revoked", async () => {
    const { keys, auth } = setup();
    const { token, info } = keys.create({ name: "bot", tenant: "acme" });
    await auth.authenticate(req({ authorization: `Bearer ${token}` }));
    new KeyStore(keys.file).revoke(info.id); // another process (the CLI)
    const e = await authError(auth.authenticate(req({ authorization: `Bearer ${token}` })));
    expect(e.reason).toBe("api_key_revoked");
  });

  it("answers 401 with a challenge naming the metadata, and error codes per RFC 6750", async () => {
    const { auth, audit, keys } = setup({ resourceMetadata: { resource: "https://w.example/mcp" } });
    const none = await authError(auth.authenticate(req({})));
    expect(none.status).toBe(401);
    expect(none.wwwAuthenticate).toBe(
      'Bearer resource_metadata="https://w.example/.well-known/oauth-protected-resource/mcp"',
    );
    const bad = await authError(auth.authenticate(req({ authorization: "Bearer wk_nope" })));
    expect(bad.wwwAuthenticate).toMatch(
      /error="invalid_token", error_description="the API key is not valid"/,
    );
    const malformed = await authError(auth.authenticate(req({ authorization: "Bearer" })));
    expect(malformed.code).toBe("invalid_request");
    // JWTs are refused when JWT is not configured
    const jwt = await authError(
      auth.authenticate(req({ authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" })),
    );
    expect(jwt.reason).toBe("jwt_disabled");
    // failed attempts are audited without the credential
    const { token } = keys.create({ name: "x", tenant: "t" });
    const wrong = `${token.slice(0, -4)}AAAA`;
    await authError(auth.authenticate(req({ authorization: `Bearer ${wrong}` })));
    const text = JSON.stringify(audit.events);
    expect(text).not.toContain(wrong);
    expect(audit.events.map((e) => e.reason)).toEqual(
      expect.arrayContaining([
        "no_credential",
        "api_key_malformed",
        "malformed",
        "jwt_disabled",
        "api_key_mismatch",
      ]),
    );
  });

  it("requiredScopes: a caller without them gets 403 insufficient_scope naming the scopes", async () => {
    const { keys, auth } = setup({ requiredScopes: ["mcp:tools"] });
    const without = keys.create({ name: "a", tenant: "t", scopes: ["other"] }).token;
    const withScope = keys.create({ name: "b", tenant: "t", scopes: ["mcp:tools"] }).token;
    const e = await authError(auth.authenticate(req({ authorization: `Bearer ${without}` })));
    expect(e.status).toBe(403);
    expect(e.wwwAuthenticate).toMatch(/error="insufficient_scope".*scope="mcp:tools"$/);
    expect(await auth.authenticate(req({ authorization: `Bearer ${withScope}` }))).toMatchObject({
      user: "key:b",
    });
  });

  it("refuses API keys when they are disabled", async () => {
    const { auth } = setup({ apiKeys: { enabled: false } });
    const e = await authError(
      auth.authenticate(req({ authorization: `Bearer wk_${"a".repeat(12)}_${"b".repeat(43)}` })),
    );
    expect(e.reason).toBe("api_keys_disabled");
  });
});

describe("RFC 9728 metadata", () => {
  it("derives the resource from the request when not configured, and places the well-known path first", () => {
    expect(resourceMetadataUrl("https://w.example/")).toBe(
      "https://w.example/.well-known/oauth-protected-resource",
    );
    expect(resourceMetadataUrl("https://w.example/tenant/mcp")).toBe(
      "https://w.example/.well-known/oauth-protected-resource/tenant/mcp",
    );
    expect(
      resourceMetadataDocument({ authorizationServers: [], scopesSupported: [], resourceName: "w" }, req({})),
    ).toMatchObject({ resource: "http://127.0.0.1:8787/mcp", bearer_methods_supported: ["header"] });
  });

  it("rejects a config that could leak or weaken auth", () => {
    expect(() => parseAuthConfig({ jwt: { enabled: true, issuer: "i", secretRef: "hunter2" } })).toThrow(
      /env:NAME/,
    );
    expect(() => parseAuthConfig({ jwt: { enabled: true, issuer: "i" } })).toThrow(
      /jwksUrl, publicKeys or secretRef/,
    );
    expect(() => parseAuthConfig({ bogus: 1 })).toThrow(/bogus|unrecognized/i);
  });
});
