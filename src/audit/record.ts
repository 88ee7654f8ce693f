// The shape of one ledger line and the hash that chains it to the previous one.
import { createHash, createHmac, type KeyObject } from "node:crypto";
import { canonicalJson } from "./canonical.js";

/** prev of the very first record of a ledger. */
export const GENESIS_HASH = "0".repeat(64);
/** Line format version, written first on every line. */
export const RECORD_FORMAT_VERSION = 1;

export type AuditEvent =
  | "decision" // a governed call that went through (allow, or dry-run would-deny)
  | "refusal" // a stage refused the call
  | "error" // the call failed downstream or inside warden
  | "approval" // a human approval outcome
  | "policy" // policy engine events: fallback, reload, kill switch
  | "start" // the ledger was opened by a warden process
  | "rotate" // first record of a file after rotation
  | (string & {}); // events from other areas (auth.*, approval.*) via ledgerAuditSink

export interface AuditSubject {
  user: string;
  tenant: string;
  team?: string;
  authMethod: string;
  credentialId?: string;
}

/** The fields a caller supplies; the ledger adds v, ts, seq, prev and hash. */
export interface AuditEntry {
  event: AuditEvent;
  subject?: AuditSubject;
  session?: string;
  requestId?: string | number;
  method?: string;
  server?: string;
  tool?: string;
  uri?: string;
  /** HMAC-SHA256 (hex) of the canonical arguments. */
  argsHmac?: string;
  /** Raw arguments, only when the environment opts in. */
  args?: unknown;
  /** allow | deny | would_deny | error | approval_required | approved | rejected | ... */
  decision?: string;
  reasons?: string[];
  /** The configured mode and the one that applied to this call. */
  mode?: string;
  effectiveMode?: string;
  policyVersion?: string;
  /** Stage that refused, for refusals. */
  stage?: string;
  outcome?: string;
  tags?: string[];
  fallback?: string;
  durations?: Record<string, number>;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  v: number;
  ts: string;
  seq: number;
  prev: string;
  hash: string;
}

/** sha256 over the canonical record without its own hash (prev is inside, which makes the chain). */
export function recordHash(recordWithoutHash: Omit<AuditRecord, "hash"> | Record<string, unknown>): string {
  return sha256Hex(canonicalJson(recordWithoutHash));
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Keyed hash of tool arguments: equal arguments are linkable by key holders, unreadable to others. */
export function argumentsHmac(key: Buffer | string | KeyObject, args: unknown): string {
  return createHmac("sha256", key)
    .update(canonicalJson(args ?? {}))
    .digest("hex");
}

/** Canonical argument texts up to this length are remembered with their HMAC. */
const MEMO_TEXT_MAX = 1024;
const MEMO_ENTRIES = 256;

/**
 * argumentsHmac for one key, remembering the HMAC of recently seen (short) canonical argument
 * texts: an agent repeating a call skips the HMAC. The memo holds at most 256 texts of ≤ 1 KB
 * (like the policy decision cache, which keys on the same arguments) and starts over when full.
 */
export function argumentsHmacFor(key: KeyObject): (args: unknown) => string {
  let memo = new Map<string, string>();
  return (args) => {
    const text = canonicalJson(args ?? {});
    if (text.length > MEMO_TEXT_MAX) return createHmac("sha256", key).update(text).digest("hex");
    let mac = memo.get(text);
    if (mac === undefined) {
      mac = createHmac("sha256", key).update(text).digest("hex");
      if (memo.size >= MEMO_ENTRIES) memo = new Map();
      memo.set(text, mac);
    }
    return mac;
  };
}
