import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeyStore, parseApiKey } from "../../src/auth/keyStore.js";

function tmpStore(): KeyStore {
  return new KeyStore(join(mkdtempSync(join(tmpdir(), "warden-keys-")), "keys.json"));
}

describe("KeyStore", () => {
  it("creates a key shown once, stored only as a hash in a 0600 file", async () => {
    const store = tmpStore();
    const { token, info } = store.create({
      name: "ci",
      tenant: "acme",
      roles: ["agent"],
      scopes: ["tools:call"],
    });
    expect(parseApiKey(token)?.id).toBe(info.id);
    const raw = readFileSync(store.file, "utf8");
    // The secret is base64url and may itself contain "_": take it from the parser, not split().
    expect(raw).not.toContain(parseApiKey(token)?.secret);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    expect(store.verify(token)).toMatchObject({ ok: true, record: { tenant: "acme", roles: ["agent"] } });
  });

  it("refuses malformed, unknown, wrong-secret, revoked and expired keys", () => {
    const store = tmpStore();
    const { token, info } = store.create({ name: "a", tenant: "t" });
    expect(store.verify("nope")).toMatchObject({ ok: false, reason: "malformed" });
    const other = `wk_${"z".repeat(12)}_${"A".repeat(43)}`;
    expect(store.verify(other)).toMatchObject({ ok: false, reason: "unknown" });
    const wrong = `wk_${info.id}_${"B".repeat(43)}`;
    expect(store.verify(wrong)).toMatchObject({ ok: false, reason: "mismatch" });
    store.revoke(info.id);
    expect(store.verify(token)).toMatchObject({ ok: false, reason: "revoked" });
    const exp = store.create({ name: "b", tenant: "t", expiresAt: new Date(Date.now() + 1000) });
    expect(store.verify(exp.token, Date.now() + 2000)).toMatchObject({ ok: false, reason: "expired" });
  });

  it("rotates: new key works, old key is revoked, attributes carried over", () => {
    const store = tmpStore();
    const { token, info } = store.create({ name: "svc", tenant: "t", roles: ["approver"] });
    const rot = store.rotate(info.id);
    expect(store.verify(token)).toMatchObject({ ok: false, reason: "revoked" });
    expect(store.verify(rot.token)).toMatchObject({
      ok: true,
      record: { roles: ["approver"], rotatedFrom: info.id },
    });
  });

  it("sees revocations written by another process (another KeyStore on the same file)", () => {
    const a = tmpStore();
    const { token, info } = a.create({ name: "x", tenant: "t" });
    const b = new KeyStore(a.file, 0);
    expect(b.verify(token).ok).toBe(true);
    a.revoke(info.id);
    expect(b.verify(token)).toMatchObject({ ok: false, reason: "revoked" });
  });

  it("records last use, throttled", () => {
    const store = tmpStore();
    const { info } = store.create({ name: "x", tenant: "t" });
    expect(store.touch(info.id, 60_000)).toBe(true);
    expect(store.touch(info.id, 60_000)).toBe(false);
    expect(new KeyStore(store.file).get(info.id)?.lastUsedAt).toBeTruthy();
  });

  it("recording last use never rewrites keys.json, so it cannot undo a concurrent revoke", () => {
    const proxy = tmpStore();
    const { token, info } = proxy.create({ name: "x", tenant: "t" });
    expect(proxy.verify(token).ok).toBe(true);
    const before = readFileSync(proxy.file, "utf8");
    new KeyStore(proxy.file).revoke(info.id); // the CLI, in between
    const revoked = readFileSync(proxy.file, "utf8");
    expect(revoked).not.toBe(before);
    proxy.touch(info.id, 0);
    expect(readFileSync(proxy.file, "utf8")).toBe(revoked);
    expect(new KeyStore(proxy.file).verify(token)).toMatchObject({ ok: false, reason: "revoked" });
    expect(statSync(proxy.lastUsedFile).mode & 0o777).toBe(0o600);
  });

  it("rejects bad input without touching the file", () => {
    const store = tmpStore();
    expect(() => store.create({ name: "", tenant: "t" })).toThrow(/name/);
    expect(() => store.create({ name: "x", tenant: "t", expiresAt: new Date(Date.now() - 1) })).toThrow(
      /past/,
    );
    expect(() => store.revoke("missing")).toThrow(/no API key/);
    expect(store.list()).toEqual([]);
  });
});
