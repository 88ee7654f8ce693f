import { type AuditSink, writeAudit } from "../auth/audit.js";
import type { CallContext, Decision, Stage } from "../pipeline/types.js";
import { StageRefusal } from "../pipeline/types.js";
import { callHash } from "./callHash.js";
import type { ApprovalConfig } from "./config.js";
import { redactArguments } from "./redact.js";
import { type Approval, ApprovalError, ApprovalStore, type NewApproval } from "./store.js";
import type { WebhookNotifier } from "./webhook.js";

// The approval stage: runs after policy. When the decision says requireApproval, either the
// caller confirms through MCP elicitation (if its client declared the capability), or the
// call is held as a pending approval for an approver (admin API / CLI). No decision in time,
// a decline, a denial or an expiry are all refusals.

export interface ApprovalStageOptions {
  config: ApprovalConfig;
  store?: ApprovalStore;
  audit?: AuditSink;
  webhook?: WebhookNotifier;
}

function argumentsOf(ctx: CallContext): unknown {
  return ctx.params.arguments ?? {};
}

/** `{type: "approval", approver: "other"}` in the obligations forces a pending approval. */
function needsOtherApprover(ctx: CallContext): boolean {
  return (ctx.decision?.obligations ?? []).some(
    (o) => o.type === "approval" && (o.approver === "other" || o.via === "pending"),
  );
}

export function elicitationRequest(n: NewApproval): Record<string, unknown> {
  const args = JSON.stringify(n.arguments, null, 2);
  return {
    mode: "form",
    message: [
      `Approval required before warden runs this tool call.`,
      `Tool: ${n.tool}`,
      `Server: ${n.server}`,
      `Reason: ${n.reasons.join("; ") || "policy requires approval"}`,
      `Arguments (secrets redacted):`,
      args.length > 4000 ? `${args.slice(0, 4000)}…` : args,
    ].join("\n"),
    requestedSchema: {
      type: "object",
      properties: {
        approve: {
          type: "boolean",
          title: "Run this call",
          description: "Accept to run it, decline to refuse it",
        },
      },
      required: ["approve"],
    },
  };
}

function refuse(message: string, data: Record<string, unknown>): never {
  throw new StageRefusal("approval", message, -32001, data);
}

export function createApprovalStage(opts: ApprovalStageOptions): Stage & { store: ApprovalStore } {
  const { config, audit, webhook } = opts;
  const store =
    opts.store ??
    new ApprovalStore({
      ttlSeconds: config.ttlSeconds,
      maxPendingPerTenant: config.maxPendingPerTenant,
      allowSelfApproval: config.allowSelfApproval,
      audit,
    });

  const elicit = async (ctx: CallContext, n: NewApproval): Promise<void> => {
    const timeout = AbortSignal.timeout(config.elicitationTimeoutSeconds * 1000);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    let result: Record<string, unknown>;
    try {
      result = (await ctx.client.elicit?.(elicitationRequest(n), signal)) ?? {};
    } catch (e) {
      const outcome = timeout.aborted ? "timeout" : "error";
      const a = await store.recordElicitation(n, false, outcome);
      refuse(
        outcome === "timeout"
          ? "approval was not given in time; the call was not run"
          : `approval could not be asked: ${(e as Error).message}`,
        { reason: `approval_${outcome}`, approvalId: a.id },
      );
    }
    const action = String(result.action ?? "");
    const content = (result.content ?? {}) as Record<string, unknown>;
    const accepted = action === "accept" && content.approve !== false;
    const a = await store.recordElicitation(n, accepted, action || "unknown");
    ctx.annotations.approval = { id: a.id, via: "elicitation", outcome: action, approved: accepted };
    if (!accepted) {
      refuse(`the call was ${action === "accept" ? "not approved" : "declined"} by the user`, {
        reason: "approval_declined",
        approvalId: a.id,
        action,
      });
    }
  };

  const hold = async (ctx: CallContext, n: NewApproval): Promise<void> => {
    let a: Approval;
    try {
      const r = await store.request(n);
      a = r.approval;
      if (r.created && webhook) void webhook.notify(a);
    } catch (e) {
      if (e instanceof ApprovalError) refuse(e.message, { reason: "approval_unavailable" });
      throw e;
    }
    if (a.status === "pending" && config.holdSeconds > 0) {
      a = await store.waitFor(a, config.holdSeconds * 1000, ctx.signal);
    }
    if (a.status === "approved") {
      const used = await store.consume(n.callHash);
      if (used) {
        ctx.annotations.approval = { id: used.id, via: used.decidedBy?.via, decidedBy: used.decidedBy };
        return;
      }
      a = (await store.latest(n.callHash)) ?? a;
    }
    if (a.status === "pending") {
      const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(a.expiresAt) - Date.now()) / 1000));
      ctx.annotations.approval = { id: a.id, status: "pending" };
      refuse(`approval ${a.id} is pending; an approver must approve it, then retry the same call`, {
        reason: "approval_pending",
        approvalId: a.id,
        expiresAt: a.expiresAt,
        retryAfterSeconds: Math.min(retryAfterSeconds, 30),
      });
    }
    ctx.annotations.approval = { id: a.id, status: a.status, decidedBy: a.decidedBy };
    refuse(
      a.status === "denied"
        ? `approval ${a.id} was denied by ${a.decidedBy?.user ?? "an approver"}${a.comment ? `: ${a.comment}` : ""}`
        : `approval ${a.id} ${a.status === "expired" ? "expired" : `is ${a.status}`}; the call was not run`,
      { reason: `approval_${a.status}`, approvalId: a.id, ...(a.comment ? { comment: a.comment } : {}) },
    );
  };

  return {
    name: "approval",
    // Arguments are read only when a decision requires approval; ctx.params is parsed on that
    // first read, so other calls may be forwarded as bytes.
    reads: { params: false },
    store,
    // Synchronous when the call needs no approval (nearly every call): an async hook would cost
    // the pipeline a promise and an await on every call.
    before(ctx) {
      if (!ctx.decision?.requireApproval || ctx.decision.allow === false) return;
      return approve(ctx, ctx.decision);
    },
  };

  async function approve(ctx: CallContext, decision: Decision): Promise<void> {
    const args = argumentsOf(ctx);
    const server = ctx.server ?? "";
    const tool = ctx.tool ?? ctx.exposedName ?? ctx.method;
    const n: NewApproval = {
      // resources/read has no arguments: the URI is what the approval must be bound to
      callHash: callHash({
        server,
        tool,
        arguments: ctx.uri !== undefined ? { uri: ctx.uri, arguments: args } : args,
        tenant: ctx.subject.tenant,
        user: ctx.subject.user,
      }),
      subject: ctx.subject,
      server,
      tool,
      arguments: redactArguments(ctx.uri !== undefined ? { uri: ctx.uri, ...(args as object) } : args),
      reasons: decision.reasons,
    };
    // An approver already approved this exact call: use it up and go.
    const ready = await store.consume(n.callHash);
    if (ready) {
      ctx.annotations.approval = { id: ready.id, via: ready.decidedBy?.via, decidedBy: ready.decidedBy };
      return;
    }
    const canElicit = Boolean(ctx.client.capabilities.elicitation) && typeof ctx.client.elicit === "function";
    if (config.mode === "elicitation" && !canElicit) {
      await writeAudit(audit, { event: "approval.unavailable", tenant: n.subject.tenant, tool, server });
      refuse("this call needs approval and the client does not support elicitation", {
        reason: "approval_unavailable",
      });
    }
    if (config.mode !== "pending" && canElicit && !needsOtherApprover(ctx)) return elicit(ctx, n);
    return hold(ctx, n);
  }
}
