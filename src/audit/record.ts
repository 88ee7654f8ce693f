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
