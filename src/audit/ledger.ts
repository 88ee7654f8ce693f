// The append-only, hash-chained audit ledger. Records are serialized once (the canonical JSON the
// hash covers is also the line written) into an in-memory batch and committed by a group-commit loop: one write (and, by default, one fdatasync) per
// batch, and every append() resolves only once its line is on disk. Callers await it before the
// response leaves, so an acknowledged call is never missing from the ledger.
import { writeSync } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { canonicalJson } from "./canonical.js";
import {
  type AuditEntry,
  type AuditRecord,
  GENESIS_HASH,
  RECORD_FORMAT_VERSION,
  sha256Hex,
} from "./record.js";

/** Every entry key sorts before "v", so the canonical text of a record ends with this member. */
const V_TAIL = `,"v":${RECORD_FORMAT_VERSION}}`;
const V_HEAD = `{"v":${RECORD_FORMAT_VERSION},`;

/**
 * The ledger line of a record from the canonical text its hash was computed over: the format
 * version moved first, the hash appended last. Falls back to a second serialization when an
 * entry carries a key sorting after "v" (not one AuditEntry has).
 */
function recordLine(record: AuditRecord, canonical: string): string {
  if (canonical.endsWith(V_TAIL))
    return `${V_HEAD}${canonical.slice(1, -V_TAIL.length)},"hash":"${record.hash}"}\n`;
  return `${JSON.stringify(record)}\n`;
}

/** Every key a record can have, sorted: records built in this order hash via JSON.stringify. */
const RECORD_KEYS = [
  "args",
  "argsHmac",
  "decision",
  "detail",
  "durations",
  "effectiveMode",
  "event",
  "fallback",
  "method",
  "mode",
  "outcome",
  "policyVersion",
  "prev",
  "reasons",
  "requestId",
  "seq",
  "server",
  "session",
  "stage",
  "subject",
  "tags",
  "tool",
  "ts",
  "uri",
  "v",
] as const;
const KNOWN_KEYS = new Set<string>(RECORD_KEYS);

/**
 * The record of an entry with its keys in sorted order (so canonicalJson can hand it to
 * JSON.stringify whole); an entry with a key outside AuditEntry keeps the old construction.
 */
function sortedRecord(entry: AuditEntry, ts: string, seq: number, prev: string): AuditRecord {
  const e = entry as unknown as Record<string, unknown>;
  for (const k in e)
    if (!KNOWN_KEYS.has(k)) return { v: RECORD_FORMAT_VERSION, ts, seq, ...entry, prev } as AuditRecord;
  const out: Record<string, unknown> = {};
  for (const k of RECORD_KEYS) {
    const v =
      k === "v" ? RECORD_FORMAT_VERSION : k === "ts" ? ts : k === "seq" ? seq : k === "prev" ? prev : e[k];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as AuditRecord;
}

// new Date().toISOString() once per millisecond: records committed in the same ms share it.
let lastMs = -1;
let lastIso = "";
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export interface AuditLedgerOptions {
  /** Active JSONL file. Rotated files are named `<path>.<last seq>`. */
  path: string;
  /**
   * "fsync" (this class's default): fdatasync after every batch, survives power loss.
   * warden.yaml's `audit.durability` defaults to "write" (docs/audit.md) and always passes it.
   * "write": the batch is handed to the kernel before append() resolves; survives a warden
   * crash but not a machine crash.
   */
  durability?: "fsync" | "write";
  /** Most records committed by one write (default 4096). */
  maxBatch?: number;
  /** Rotate when the active file reaches this size; 0 disables (default 64 MiB). */
  rotateBytes?: number;
  /** Called after each committed batch (metrics). */
  onCommit?(records: readonly AuditRecord[]): void;
  /** Called when a batch could not be written; the ledger then refuses further appends. */
  onError?(err: Error): void;
}

interface Waiter {
  record: AuditRecord;
  resolve(r: AuditRecord): void;
  reject(e: Error): void;
}

export class AuditLedgerError extends Error {
  override name = "AuditLedgerError";
}

export class AuditLedger {
  private fh?: FileHandle;
  private size = 0;
  private nextSeq = 0;
  private lastHash = GENESIS_HASH;
  private readonly pending: string[] = [];
  private readonly waiters: Waiter[] = [];
  private flushing = false;
  private scheduled = false;
  private failure?: Error;
  private closed = false;
  private idle: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly rotateBytes: number;
  private readonly fsync: boolean;
  /** Bytes of a torn (partially written) last line cut off when the ledger was opened. */
  recoveredTornBytes = 0;

  private constructor(private readonly opts: AuditLedgerOptions) {
    this.maxBatch = opts.maxBatch ?? 4096;
    this.rotateBytes = opts.rotateBytes ?? 64 * 1024 * 1024;
    this.fsync = (opts.durability ?? "fsync") === "fsync";
  }

  /** Opens (or continues) a ledger: the chain resumes from the last committed record. */
  static async open(opts: AuditLedgerOptions): Promise<AuditLedger> {
    const ledger = new AuditLedger(opts);
    await ledger.init();
    return ledger;
  }

  get path(): string {
    return this.opts.path;
  }

  /** Sequence number the next record will get. */
  get sequence(): number {
    return this.nextSeq;
  }

  get headHash(): string {
    return this.lastHash;
  }

  private async init(): Promise<void> {
    await mkdir(dirname(this.opts.path), { recursive: true });
    this.fh = await open(this.opts.path, "a+", 0o600);
    const tail = await this.readTail(this.fh);
    if (tail) {
      this.nextSeq = tail.seq + 1;
      this.lastHash = tail.hash;
    } else {
      const rotated = await this.lastRotatedFile();
      if (rotated) {
        const fh = await open(rotated, "r");
        try {
          const t = await this.readTail(fh, false);
          if (t) {
            this.nextSeq = t.seq + 1;
            this.lastHash = t.hash;
          }
        } finally {
          await fh.close();
        }
      }
    }
    this.size = (await this.fh.stat()).size;
    void this.append({
      event: "start",
      detail: { pid: process.pid, recoveredTornBytes: this.recoveredTornBytes || undefined },
    }).catch(() => {});
  }

  /** Reads the last complete record; cuts off a torn final line (a write the crash interrupted). */
  private async readTail(fh: FileHandle, repair = true): Promise<{ seq: number; hash: string } | undefined> {
    const { size } = await fh.stat();
    if (size === 0) return undefined;
    const chunk = Math.min(size, 1024 * 1024);
    const buf = Buffer.alloc(chunk);
    await fh.read(buf, 0, chunk, size - chunk);
    let end = buf.length;
    if (buf[end - 1] !== 0x0a) {
      const lastNl = buf.lastIndexOf(0x0a);
      const keep = lastNl + 1;
      if (repair) {
        this.recoveredTornBytes = end - keep;
        await fh.truncate(size - (end - keep));
      }
      end = keep;
      if (end === 0) return undefined;
    }
    const start = buf.lastIndexOf(0x0a, end - 2) + 1;
    const line = buf.subarray(start, end - 1).toString("utf8");
    try {
      const rec = JSON.parse(line) as AuditRecord;
      if (typeof rec.seq !== "number" || typeof rec.hash !== "string") throw new Error("missing seq/hash");
      return { seq: rec.seq, hash: rec.hash };
    } catch (err) {
      throw new AuditLedgerError(
        `cannot continue audit ledger ${this.opts.path}: its last record is unreadable (${(err as Error).message}); run \`warden audit verify\``,
      );
    }
  }

  private async lastRotatedFile(): Promise<string | undefined> {
    const dir = dirname(this.opts.path);
    const prefix = `${basename(this.opts.path)}.`;
    let best: { n: number; name: string } | undefined;
    for (const name of await readdir(dir)) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      if (!/^\d+$/.test(rest)) continue;
      const n = Number(rest);
      if (!best || n > best.n) best = { n, name };
    }
    return best ? join(dir, best.name) : undefined;
  }

  /** Appends one record; resolves once it is committed (written, and fsynced when configured). */
  append(entry: AuditEntry): Promise<AuditRecord> {
    if (this.closed) return Promise.reject(new AuditLedgerError("audit ledger is closed"));
    if (this.failure) return Promise.reject(this.failure);
    const record = sortedRecord(entry, isoNow(), this.nextSeq, this.lastHash);
    // The hash covers the canonical record without its own hash (recordHash in record.ts).
    const canonical = canonicalJson(record);
    record.hash = sha256Hex(canonical);
    this.nextSeq++;
    this.lastHash = record.hash;
    this.pending.push(recordLine(record, canonical));
    return new Promise<AuditRecord>((resolve, reject) => {
      this.waiters.push({ record, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every append of the current event-loop turn join the same batch.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    try {
      while (this.pending.length > 0 && !this.failure) {
        const n = Math.min(this.pending.length, this.maxBatch);
        const lines = this.pending.splice(0, n);
        const batch = this.waiters.splice(0, n);
        const buf = Buffer.from(lines.join(""), "utf8");
        try {
          const fh = this.fh;
          if (!fh) throw new AuditLedgerError("audit ledger is not open");
          // A synchronous write to the page cache costs microseconds, far less than a thread-pool
          // round trip; only the fsync (milliseconds) is worth running off the event loop.
          let off = 0;
          while (off < buf.length) off += writeSync(fh.fd, buf, off, buf.length - off);
          if (this.fsync) await fh.datasync();
          this.size += buf.length;
        } catch (err) {
          this.failure = new AuditLedgerError(`audit ledger write failed: ${(err as Error).message}`);
          this.opts.onError?.(this.failure);
          for (const w of batch) w.reject(this.failure);
          for (const w of this.waiters.splice(0)) w.reject(this.failure);
          this.pending.length = 0;
          break;
        }
        const records = batch.map((w) => w.record);
        for (const w of batch) w.resolve(w.record);
        this.opts.onCommit?.(records);
        if (this.rotateBytes > 0 && this.size >= this.rotateBytes) await this.rotate();
      }
    } finally {
      this.flushing = false;
      if (this.pending.length > 0 && !this.failure) this.schedule();
      else for (const f of this.idle.splice(0)) f();
    }
  }

  /** Closes the active file, renames it to `<path>.<last seq>` and continues the chain in a new file. */
  private async rotate(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    const lastSeq = this.nextSeq - 1 - this.pending.length;
    await fh.close();
    this.fh = undefined;
    const rotatedName = `${this.opts.path}.${lastSeq}`;
    await rename(this.opts.path, rotatedName);
    this.fh = await open(this.opts.path, "a+", 0o600);
    this.size = (await stat(this.opts.path)).size;
    void this.append({ event: "rotate", detail: { previousFile: basename(rotatedName) } }).catch(() => {});
  }

  /** Resolves when everything appended so far is committed. */
  flushed(): Promise<void> {
    if (!this.flushing && !this.scheduled && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushed();
    this.closed = true;
    await this.fh?.close();
    this.fh = undefined;
  }
}
