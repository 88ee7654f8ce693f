import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAuthConfig } from "../../src/auth/config.js";
import { JwtVerifier } from "../../src/auth/jwt.js";
import { startIssuer, type TestIssuer, unsecuredJwt } from "./jwks-server.js";

const AUD = "http://127.0.0.1:9/mcp";
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await startIssuer();
});
afterAll(() => issuer.close());

function verifier(extra: Record<string, unknown> = {}) {
  const cfg = parseAuthConfig({
    jwt: {
      enabled: true,
      issuer: issuer.url,
      audience: AUD,
      algorithms: ["ES256"],
      jwksUrl: issuer.jwksUrl,
      jwksCooldownSeconds: 0,
      claims: { user: "sub", tenant: "org", team: "team", roles: "roles", scopes: "scope", extra: ["email"] },
      ...extra,
    },
  });
  if (!cfg.jwt) throw new Error("no jwt config");
  return new JwtVerifier(cfg.jwt);
}

const base = () => ({
  sub: "alice",
  org: "acme",
  team: "data",
  roles: ["analyst"],
  scope: "tools:call files:read",
});

describe("JwtVerifier", () => {
  it("maps claims to the subject per configuration", async () => {
    const r = await verifier().verify(
      await issuer.sign({ ...base(), iss: issuer.url, aud: AUD, email: "a@acme.test", jti: "t1" }),
    );
    expect(r).toEqual({
      ok: true,
      exp: expect.any(Number),
      subject: {
        user: "alice",
        tenant: "acme",
        team: "data",
        roles: ["analyst"],
        scopes: ["tools:call", "files:read"],
        authMethod: "jwt",
        credentialId: "jti:t1",
        claims: { email: "a@acme.test" },
      },
    });
  });

  it.each([
    ["wrong audience", { aud: "http://elsewhere/mcp" }, "bad_audience"],
    ["wrong issuer", { iss: "http://evil.test" }, "bad_issuer"],
    ["missing tenant", { org: undefined }, "claims"],
  ])("refuses a token with %s", async (_label, over, reason) => {
    const claims = { ...base(), iss: issuer.url, aud: AUD, ...over };
    const r = await verifier().verify(await issuer.sign(claims));
    expect(r).toMatchObject({ ok: false, reason });
  });

  it("refuses expired and not-yet-valid tokens", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await issuer.sign({ ...base(), iss: issuer.url, aud: AUD }, { exp: now - 120 });
    expect(await verifier().verify(expired)).toMatchObject({ ok: false, reason: "expired" });
    const early = await issuer.sign({ ...base(), iss: issuer.url, aud: AUD }, { nbf: now + 3600 });
    expect(await verifier().verify(early)).toMatchObject({ ok: false, reason: "not_yet_valid" });
  });

  it('refuses alg "none", algorithms outside the allow-list, and garbage', async () => {
    const v = verifier();
    expect(await v.verify(unsecuredJwt({ ...base(), iss: issuer.url, aud: AUD }))).toMatchObject({
      ok: false,
      reason: "bad_algorithm",
    });
    // HS256 signed with the public JWK's "x" as secret (the classic key-confusion attack)
    const hs = await new SignJWT({ ...base(), iss: issuer.url, aud: AUD })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("a-secret-of-at-least-32-characters!!"));
    expect(await v.verify(hs)).toMatchObject({ ok: false, reason: "bad_algorithm" });
    expect(await v.verify("not.a.jwt")).toMatchObject({ ok: false, reason: "malformed" });
    expect(() =>
      parseAuthConfig({ jwt: { enabled: true, issuer: "x", algorithms: ["none"], jwksUrl: issuer.jwksUrl } }),
    ).toThrow(/none/);
  });

  it("refuses a token signed by a key that is not in the JWKS", async () => {
    const other = await startIssuer();
    try {
      const forged = await other.sign({ ...base(), iss: issuer.url, aud: AUD });
      expect(await verifier().verify(forged)).toMatchObject({ ok: false, reason: "bad_signature" });
    } finally {
      await other.close();
    }
  });

  it("follows JWKS rotation: a token from a new key is accepted after refetch", async () => {
    const v = verifier();
    expect((await v.verify(await issuer.sign({ ...base(), iss: issuer.url, aud: AUD }))).ok).toBe(true);
    const before = issuer.fetches;
    const kid = await issuer.rotate(false);
    const r = await v.verify(await issuer.sign({ ...base(), iss: issuer.url, aud: AUD }, { kid }));
    expect(r.ok).toBe(true);
    expect(issuer.fetches).toBeGreaterThan(before);
  });

  it("caches verified tokens but never past their expiry", async () => {
    const v = verifier();
    const now = Math.floor(Date.now() / 1000);
    const token = await issuer.sign({ ...base(), iss: issuer.url, aud: AUD }, { exp: now + 60 });
    expect((await v.verify(token)).ok).toBe(true);
    const fetches = issuer.fetches;
    expect((await v.verify(token)).ok).toBe(true);
    expect(issuer.fetches).toBe(fetches);
    // 10 minutes later (past exp + tolerance) the cached entry is dead and the token refused
    expect(await v.verify(token, Date.now() + 600_000)).toMatchObject({ ok: false, reason: "expired" });
  });

  it("verifies with static keys and an HMAC secret from the environment", async () => {
    const secret = "s".repeat(40);
    const cfg = parseAuthConfig({
      jwt: {
        enabled: true,
        issuer: "me",
        audience: AUD,
        algorithms: ["HS256"],
        secretRef: "env:TEST_JWT_SECRET",
      },
    });
    if (!cfg.jwt) throw new Error("no jwt");
    const v = new JwtVerifier(cfg.jwt, { env: { TEST_JWT_SECRET: secret } });
    const tok = await new SignJWT({ sub: "bob", tenant: "t1" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("me")
      .setAudience(AUD)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(secret));
    expect(await v.verify(tok)).toMatchObject({ ok: true, subject: { user: "bob", tenant: "t1" } });
    expect(() => new JwtVerifier(cfg.jwt as never, { env: {} })).toThrow(/TEST_JWT_SECRET/);
  });

  it("refuses tokens without exp by default", async () => {
    const secret = "s".repeat(40);
    const cfg = parseAuthConfig({
      jwt: { enabled: true, issuer: "me", audience: AUD, algorithms: ["HS256"], secretRef: "env:S" },
    });
    const v = new JwtVerifier(cfg.jwt as never, { env: { S: secret } });
    const tok = await new SignJWT({ sub: "bob", tenant: "t1" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("me")
      .setAudience(AUD)
      .sign(new TextEncoder().encode(secret));
    expect(await v.verify(tok)).toMatchObject({ ok: false });
  });
});
