// The audit stage: one ledger record for every governed call — allowed, denied, dry-run
// "would have denied", refused by any stage, or failed. The record is committed before the
// response leaves (after/onRefusal await the ledger).

import { createSecretKey, type KeyObject } from "node:crypto";
import type { CallContext, Stage } from "../pipeline/types.js";
import type { PolicyEvaluation } from "../policy/engine.js";
import { POLICY_ANNOTATION } from "../policy/stage.js";
import { type AuditEntry, argumentsHmac, argumentsHmacFor } from "./record.js";

export interface AuditSink {
  append(entry: AuditEntry): Promise<unknown>;
}

export interface AuditStageOptions {
  /** Key of the arguments HMAC. Keep it secret and stable to link equal arguments across restarts. */
  argsKey: Buffer | string | KeyObject;
  /** Store raw arguments too (only where the environment explicitly opts in). */
  rawArguments?: boolean;
  /** Methods audited (default: every method that reaches the pipeline). */
  methods?: readonly string[];
  /** Computes argsHmac (the stage passes a memoizing one); default argumentsHmac with argsKey. */
  hmacOf?: (args: unknown) => string;
}

function isErrorResult(result: unknown): boolean {
  return !!result && typeof result === "object" && (result as { isError?: unknown }).isError === true;
}

export function buildAuditEntry(ctx: CallContext, opts: AuditStageOptions): AuditEntry {
  const ev = ctx.annotations[POLICY_ANNOTATION] as PolicyEvaluation | undefined;
  const args = ctx.params.arguments;
  const failure = ctx.error;
  // The runner marks refusals with the refusing stage; a stage that crashed gets -32603 (internal error).
  const isRefusal = !!failure?.stage && failure.code !== -32603;
  let event: AuditEntry["event"];
  let outcome: string;
  if (failure && isRefusal) {
    event = "refusal";
    outcome = "refused";
  } else if (failure) {
    event = "error";
    outcome = "error";
  } else if (isErrorResult(ctx.result)) {
    event = "error";
    outcome = "tool_error";
  } else {
    event = "decision";
    outcome = "ok";
  }
  let decision: string | undefined = ev?.outcome;
  if (ev?.fallback) decision = `error_${ev.outcome}`;
  if (failure && isRefusal && failure.stage !== "policy") decision = "refused";
  const approval = ctx.annotations.approval as
    | { outcome?: unknown; status?: unknown; approved?: unknown }
    | undefined;
  const totalMs = Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
  // Objects built with their keys in sorted order: the ledger's canonical JSON is then one
  // JSON.stringify (see canonical.ts).
  const durations: Record<string, number> = {};
  if (ev) durations.policy_ms = Math.round(ev.durationMs * 1000) / 1000;
  durations.total_ms = Math.round(totalMs * 1000) / 1000;
  const s = ctx.subject;
  const detail: Record<string, unknown> = {};
  if (approval) detail.approval = approval.outcome ?? approval.status ?? approval.approved;
  if (failure) detail.error = failure.message;
  return {
    event,
    subject: {
      authMethod: s.authMethod,
      credentialId: s.credentialId,
      team: s.team,
      tenant: s.tenant,
      user: s.user,
    },
    session: ctx.session.id,
    requestId: ctx.requestId,
    method: ctx.method,
    server: ctx.server,
    tool: ctx.tool,
    uri: ctx.uri,
    argsHmac:
      args === undefined ? undefined : opts.hmacOf ? opts.hmacOf(args) : argumentsHmac(opts.argsKey, args),
    args: opts.rawArguments ? args : undefined,
    decision,
    reasons: failure && failure.stage !== "policy" ? [failure.message] : ev?.decision.reasons,
    mode: ev?.mode,
    effectiveMode: ev?.effectiveMode,
    policyVersion: ev?.policyVersion,
    stage: failure?.stage,
    outcome,
    tags: ev && ev.decision.auditTags.length > 0 ? ev.decision.auditTags : undefined,
    fallback: ev?.fallback ? `${ev.fallback.kind}:fail-${ev.fallback.failureMode}` : undefined,
    durations,
    detail: Object.keys(detail).length > 0 ? detail : undefined,
  };
}

/**
 * Put this stage first in the stage list: after hooks run in reverse order, so its after hook
 * runs last and records the final outcome (the runner sets ctx.error on refusals and failures
 * and still runs after hooks). A failed ledger write throws, so the call fails instead of
 * going unrecorded.
 */
export function auditStage(sink: AuditSink, opts: AuditStageOptions): Stage {
  const methods = opts.methods ? new Set(opts.methods) : undefined;
  // Imported once: createHmac would otherwise turn the raw key into a key object on every call.
  const key =
    typeof opts.argsKey === "object" && !Buffer.isBuffer(opts.argsKey)
      ? opts.argsKey
      : createSecretKey(Buffer.from(opts.argsKey));
  const entryOpts: AuditStageOptions = { ...opts, argsKey: key, hmacOf: argumentsHmacFor(key) };
  return {
    name: "audit",
    // The arguments (for their HMAC) and, of the result, only isError (outcome "tool_error").
    reads: { result: "isError" },
    async after(ctx: CallContext): Promise<void> {
      if (methods && !methods.has(ctx.method)) return;
      await sink.append(buildAuditEntry(ctx, entryOpts));
    },
  };
}
