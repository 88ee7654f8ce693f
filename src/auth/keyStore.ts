import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

// API keys: `wk_<id>_<secret>`. The id is public and indexes the store; the secret is 32
// random bytes, kept only as HMAC-SHA256(per-key salt, secret). A fast keyed hash is enough
// because the secret has 256 bits of entropy (no dictionary to grind), and it keeps the
// per-call cost in microseconds.

export interface ApiKeyRecord {
  id: string;
  name: string;
  tenant: string;
  team?: string;
  roles: string[];
  scopes: string[];
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
  /** The id this key replaced (rotation). */
  rotatedFrom?: string;
  salt: string;
  hash: string;
}

/** The public view of a key: everything but the salt and hash. */
export type ApiKeyInfo = Omit<ApiKeyRecord, "salt" | "hash"> & { status: "active" | "revoked" | "expired" };

export interface CreateKeyInput {
  name: string;
  tenant: string;
  team?: string;
  roles?: string[];
  scopes?: string[];
  expiresAt?: Date;
}

export type KeyCheck =
  | { ok: true; record: ApiKeyRecord }
  | { ok: false; reason: "malformed" | "unknown" | "mismatch" | "revoked" | "expired"; id?: string };

const KEY_RE = /^wk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

interface StoreFile {
  version: 1;
  keys: ApiKeyRecord[];
}

function newId(): string {
  const bytes = randomBytes(12);
  let id = "";
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

function hashSecret(salt: string, secret: string): Buffer {
  return createHmac("sha256", Buffer.from(salt, "base64url")).update(secret).digest();
}

export function keyStatus(r: ApiKeyRecord, now = Date.now()): ApiKeyInfo["status"] {
  if (r.revokedAt) return "revoked";
  if (r.expiresAt && Date.parse(r.expiresAt) <= now) return "expired";
  return "active";
}

export function publicInfo(r: ApiKeyRecord): ApiKeyInfo {
  const { salt: _s, hash: _h, ...rest } = r;
  return { ...rest, status: keyStatus(r) };
}

/** Parses `wk_<id>_<secret>`; null when the shape is wrong. */
export function parseApiKey(token: string): { id: string; secret: string } | null {
  const m = KEY_RE.exec(token);
  return m ? { id: m[1], secret: m[2] } : null;
}

/**
 * A JSON key store file (mode 0600). Reads are cached in memory and refreshed when the
 * file changes on disk (mtime), so `warden keys revoke` from another process takes effect.
 */
export class KeyStore {
  private keys = new Map<string, ApiKeyRecord>();
  private loadedVersion = "";
  private lastStatCheck = 0;

  constructor(
    readonly file: string,
    /** How often (ms) verify() re-checks the file's mtime for changes made by other processes. */
    private readonly statIntervalMs = 1000,
  ) {
    this.reload();
  }

  private reload(): void {
    if (!existsSync(this.file)) {
      this.keys.clear();
      this.loadedVersion = "";
      return;
    }
    const raw = readFileSync(this.file, "utf8");
    let parsed: StoreFile;
    try {
      parsed = JSON.parse(raw) as StoreFile;
    } catch (e) {
      throw new Error(`key store ${this.file} is not valid JSON: ${(e as Error).message}`);
    }
    if (parsed?.version !== 1 || !Array.isArray(parsed.keys)) {
      throw new Error(`key store ${this.file} has an unknown format`);
    }
    this.keys = new Map(parsed.keys.map((k) => [k.id, k]));
    this.loadedVersion = fileVersion(this.file);
  }

  private refreshIfChanged(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastStatCheck < this.statIntervalMs) return;
    this.lastStatCheck = now;
    const m = existsSync(this.file) ? fileVersion(this.file) : "";
    if (m !== this.loadedVersion) this.reload();
  }

  private persist(): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    const body: StoreFile = { version: 1, keys: [...this.keys.values()] };
    writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
    this.loadedVersion = fileVersion(this.file);
  }

  /** Creates a key; the returned token is the only time the secret exists in clear. */
  create(input: CreateKeyInput): { token: string; info: ApiKeyInfo } {
    if (!input.name.trim()) throw new Error("key name must not be empty");
    if (!input.tenant.trim()) throw new Error("key tenant must not be empty");
    if (input.expiresAt && Number.isNaN(input.expiresAt.getTime())) throw new Error("invalid expiry date");
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new Error("expiry is in the past");
    this.refreshIfChanged(true);
    let id = newId();
    while (this.keys.has(id)) id = newId();
    const secret = randomBytes(32).toString("base64url");
    const salt = randomBytes(16).toString("base64url");
    const record: ApiKeyRecord = {
      id,
      name: input.name,
      tenant: input.tenant,
      ...(input.team ? { team: input.team } : {}),
      roles: input.roles ?? [],
      scopes: input.scopes ?? [],
      createdAt: new Date().toISOString(),
      ...(input.expiresAt ? { expiresAt: input.expiresAt.toISOString() } : {}),
      salt,
      hash: hashSecret(salt, secret).toString("base64url"),
    };
    this.keys.set(id, record);
    this.persist();
    return { token: `wk_${id}_${secret}`, info: publicInfo(record) };
  }

  list(): ApiKeyInfo[] {
    this.refreshIfChanged(true);
    const lastUsed = this.readLastUsed();
    return [...this.keys.values()].map((r) => this.withLastUsed(r, lastUsed));
  }

  get(id: string): ApiKeyInfo | undefined {
    this.refreshIfChanged(true);
    const r = this.keys.get(id);
    return r ? this.withLastUsed(r, this.readLastUsed()) : undefined;
  }

  revoke(id: string): ApiKeyInfo {
    this.refreshIfChanged(true);
    const r = this.keys.get(id);
    if (!r) throw new Error(`no API key with id ${id}`);
    if (!r.revokedAt) {
      r.revokedAt = new Date().toISOString();
      this.persist();
    }
    return publicInfo(r);
  }

  /** Issues a new key with the same attributes and revokes the old one. */
  rotate(id: string, expiresAt?: Date): { token: string; info: ApiKeyInfo; revoked: ApiKeyInfo } {
    this.refreshIfChanged(true);
    const old = this.keys.get(id);
    if (!old) throw new Error(`no API key with id ${id}`);
    if (old.revokedAt) throw new Error(`API key ${id} is revoked; create a new one instead`);
    const created = this.create({
      name: old.name,
      tenant: old.tenant,
      team: old.team,
      roles: old.roles,
      scopes: old.scopes,
      expiresAt: expiresAt ?? (old.expiresAt ? new Date(old.expiresAt) : undefined),
    });
    const rec = this.keys.get(created.info.id);
    if (rec) rec.rotatedFrom = id;
    old.revokedAt = new Date().toISOString();
    this.persist();
    return { token: created.token, info: publicInfo(rec ?? old), revoked: publicInfo(old) };
  }

  /** Checks a presented token. Constant-time on the secret; never throws on bad input. */
  verify(token: string, now = Date.now()): KeyCheck {
    const parsed = parseApiKey(token);
    if (!parsed) return { ok: false, reason: "malformed" };
    this.refreshIfChanged();
    const r = this.keys.get(parsed.id);
    if (!r) return { ok: false, reason: "unknown", id: parsed.id };
    const expected = Buffer.from(r.hash, "base64url");
    const actual = hashSecret(r.salt, parsed.secret);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      return { ok: false, reason: "mismatch", id: r.id };
    }
    if (r.revokedAt) return { ok: false, reason: "revoked", id: r.id };
    if (r.expiresAt && Date.parse(r.expiresAt) <= now) return { ok: false, reason: "expired", id: r.id };
    return { ok: true, record: r };
  }

  /** Cheap re-check for a cached verification: the record must still be active. */
  verifyCachedId(id: string, now = Date.now()): ApiKeyRecord | undefined {
    this.refreshIfChanged();
    const r = this.keys.get(id);
    return r && keyStatus(r, now) === "active" ? r : undefined;
  }

  /** Sidecar file with last-use times: the proxy writes only this, never keys.json. */
  get lastUsedFile(): string {
    return `${this.file.replace(/\.json$/, "")}.last-used.json`;
  }

  private readLastUsed(): Record<string, string> {
    try {
      const v = JSON.parse(readFileSync(this.lastUsedFile, "utf8"));
      return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};
    } catch {
      return {};
    }
  }

  private withLastUsed(r: ApiKeyRecord, lastUsed: Record<string, string>): ApiKeyInfo {
    const info = publicInfo(r);
    const t = lastUsed[r.id] ?? this.lastUsed.get(r.id);
    return t ? { ...info, lastUsedAt: t } : info;
  }

  private readonly lastUsed = new Map<string, string>();

  /**
   * Records last use, persisted at most once per `minIntervalMs` per key to keep the hot path
   * off disk. It goes to a sidecar file so the proxy never rewrites keys.json and can never
   * undo a revocation written concurrently by `warden keys`.
   */
  touch(id: string, minIntervalMs: number, now = Date.now()): boolean {
    if (!this.keys.has(id)) return false;
    const prev = this.lastUsed.get(id);
    if (prev && now - Date.parse(prev) < minIntervalMs) return false;
    this.lastUsed.set(id, new Date(now).toISOString());
    try {
      const merged = { ...this.readLastUsed(), ...Object.fromEntries(this.lastUsed) };
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.lastUsedFile}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(merged)}\n`, { mode: 0o600 });
      renameSync(tmp, this.lastUsedFile);
    } catch {
      // last-used is informational; a read-only state dir must not refuse valid callers.
    }
    return true;
  }
}

/** Changes whenever the file is replaced (atomic rename → new inode) or rewritten. */
function fileVersion(file: string): string {
  const st = statSync(file);
  return `${st.ino}:${st.mtimeMs}:${st.size}`;
}
