// `warden keys` through commander and the real command module, in process.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it, vi } from "vitest";
import { KeyStore, parseApiKey } from "../../src/auth/keyStore.js";
import { parseExpiry, register } from "../../src/cli/commands/keys.js";

async function run(args: string[]) {
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
  process.exitCode = 0;
  try {
    const program = new Command("warden").exitOverride();
    register(program);
    await program.parseAsync(["node", "warden", "keys", ...args]);
    return { code: process.exitCode ?? 0, stdout: out.join(""), stderr: err.join("") };
  } finally {
    process.exitCode = 0;
    w1.mockRestore();
    w2.mockRestore();
  }
}

describe("warden keys", () => {
  it("create prints the key once; list, rotate and revoke manage it; events are logged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-keys-cli-"));
    const created = await run([
      "create",
      "--name",
      "ci",
      "--tenant",
      "acme",
      "--roles",
      "agent, approver",
      "--expires",
      "30d",
      "--state-dir",
      dir,
    ]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^wk_[a-z0-9]{12}_/);
    expect(created.stderr).toMatch(/not shown again/);
    const store = new KeyStore(join(dir, "keys.json"));
    const check = store.verify(token);
    expect(check).toMatchObject({ ok: true, record: { roles: ["agent", "approver"], tenant: "acme" } });
    expect(statSync(join(dir, "keys.json")).mode & 0o777).toBe(0o600);
    const id = token.split("_")[1];
    // The secret is base64url and may itself contain "_": take it from the parser, not split().
    const secret = parseApiKey(token)?.secret ?? "";
    expect(secret).toHaveLength(43);

    const listed = await run(["list", "--state-dir", dir, "--json"]);
    const rows = JSON.parse(listed.stdout);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(rows[0]).not.toHaveProperty("hash");

    const rotated = await run(["rotate", id, "--state-dir", dir]);
    const newToken = rotated.stdout.trim();
    expect(new KeyStore(store.file).verify(token)).toMatchObject({ ok: false, reason: "revoked" });
    expect(new KeyStore(store.file).verify(newToken).ok).toBe(true);

    const revoked = await run(["revoke", newToken.split("_")[1], "--state-dir", dir]);
    expect(revoked.stdout).toMatch(/^revoked /);
    expect(new KeyStore(store.file).verify(newToken)).toMatchObject({ ok: false, reason: "revoked" });

    const events = readFileSync(join(dir, "auth-events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).event);
    expect(events).toEqual(["auth.key_created", "auth.key_rotated", "auth.key_revoked", "auth.key_revoked"]);
    expect(readFileSync(join(dir, "auth-events.jsonl"), "utf8")).not.toContain(secret);
  });

  it("bad input: a clear error, exit code 1, nothing written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-keys-cli-"));
    const bad = await run([
      "create",
      "--name",
      "x",
      "--tenant",
      "t",
      "--expires",
      "soon",
      "--state-dir",
      dir,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--expires must be like 30d/);
    const missing = await run(["revoke", "nope", "--state-dir", dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no API key with id nope/);
    expect(new KeyStore(join(dir, "keys.json")).list()).toEqual([]);
  });

  it("--config uses the key store of warden.yaml's auth section (relative to the file)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warden-keys-cli-"));
    writeFileSync(join(dir, "warden.yaml"), "auth:\n  stateDir: st\n");
    const created = await run([
      "create",
      "--name",
      "a",
      "--tenant",
      "t",
      "--config",
      join(dir, "warden.yaml"),
    ]);
    expect(created.code).toBe(0);
    expect(new KeyStore(join(dir, "st", "keys.json")).verify(created.stdout.trim()).ok).toBe(true);
    const bad = await run(["list", "--config", join(dir, "missing.yaml")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot read/);
  });

  it("parses expiries", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseExpiry("45m", now).getTime()).toBe(now + 45 * 60_000);
    expect(parseExpiry("2w", now).getTime()).toBe(now + 14 * 86_400_000);
    expect(parseExpiry("2027-01-01T00:00:00Z").toISOString()).toBe("2027-01-01T00:00:00.000Z");
    expect(() => parseExpiry("0d")).toThrow(/positive/);
  });
});
