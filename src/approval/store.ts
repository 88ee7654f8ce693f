import { randomBytes } from "node:crypto";
import { type AuditSink, writeAudit } from "../auth/audit.js";
import { tenantVisible } from "../auth/tenancy.js";
import type { Subject } from "../pipeline/types.js";

// Pending approvals, in memory, bound to the hash of the exact call. Every state change is
// audited with who made it. Tenant isolation: a viewer only ever sees its own tenant's
// approvals (a cross-tenant operator needs tenant "*" and role "admin"); other tenants'
// approvals are reported as not found, so their existence does not leak.

export type ApprovalStatus = "pending" | "approved" | "denied" | "expired" | "consumed";

export interface Approval {
  id: string;
  callHash: string;
  tenant: string;
  requester: { user: string; tenant: string; credentialId?: string; authMethod: Subject["authMethod"] };
  server: string;
  tool: string;
  /** Redacted arguments, for the human deciding. */
  arguments: unknown;
  reasons: string[];
  status: ApprovalStatus;
  createdAt: string;
  expiresAt: string;
  decidedBy?: { user: string; tenant: string; credentialId?: string; via: string };
  decidedAt?: string;
  comment?: string;
}

export interface NewApproval {
  callHash: string;
  subject: Subject;
  server: string;
  tool: string;
  arguments: unknown;
  reasons: string[];
}

export class ApprovalError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 429,
    message: string,
  ) {
    super(message);
    this.name = "ApprovalError";
  }
}

type Waiter = (a: Approval) => void;

export interface ApprovalStoreOptions {
  ttlSeconds: number;
  maxPendingPerTenant: number;
  allowSelfApproval: boolean;
  audit?: AuditSink;
  now?: () => number;
}

export class ApprovalStore {
  private readonly byId = new Map<string, Approval>();
  private readonly byHash = new Map<string, string>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly listeners = new Set<(a: Approval, event: string) => void>();
  private readonly now: () => number;

  constructor(private readonly opts: ApprovalStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Called on every state change (webhook, metrics). */
  onChange(fn: (a: Approval, event: string) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async emit(a: Approval, event: string, extra: Record<string, unknown> = {}): Promise<void> {
    for (const fn of this.listeners) {
      try {
        fn(a, event);
      } catch {
        // a broken listener must not block approval flow
      }
    }
    await writeAudit(this.opts.audit, {
      event: `approval.${event}`,
      approvalId: a.id,
      callHash: a.callHash,
      tenant: a.tenant,
      requester: a.requester,
      server: a.server,
      tool: a.tool,
      status: a.status,
      ...(a.decidedBy ? { decidedBy: a.decidedBy } : {}),
      ...(a.comment ? { comment: a.comment } : {}),
      ...extra,
    });
    if (a.status !== "pending") {
      const ws = this.waiters.get(a.id);
      this.waiters.delete(a.id);
      for (const w of ws ?? []) w(a);
    }
  }

  /** Expires a stale approval (lazily, on access). */
  private async refresh(a: Approval): Promise<Approval> {
    if ((a.status === "pending" || a.status === "approved") && Date.parse(a.expiresAt) <= this.now()) {
      a.status = "expired";
      await this.emit(a, "expired");
    }
    return a;
  }

  private visible(viewer: Subject, a: Approval): boolean {
    return tenantVisible(viewer, a.tenant);
  }

  /** The live (pending or approved) approval for this exact call, if any. */
  async findLive(callHash: string): Promise<Approval | undefined> {
    const id = this.byHash.get(callHash);
    const a = id ? this.byId.get(id) : undefined;
    if (!a) return undefined;
    await this.refresh(a);
    return a.status === "pending" || a.status === "approved" ? a : undefined;
  }

  /** Opens an approval for a call, or returns the live one for the same call. */
  async request(n: NewApproval): Promise<{ approval: Approval; created: boolean }> {
    const live = await this.findLive(n.callHash);
    if (live) return { approval: live, created: false };
    // A denial stays in force for one TTL, so retrying the same call does not re-page approvers.
    const last = await this.latest(n.callHash);
    if (
      last?.status === "denied" &&
      Date.parse(last.decidedAt ?? last.createdAt) + this.opts.ttlSeconds * 1000 > this.now()
    ) {
      return { approval: last, created: false };
    }
    this.sweep();
    let open = 0;
    for (const a of this.byId.values()) if (a.tenant === n.subject.tenant && a.status === "pending") open++;
    if (open >= this.opts.maxPendingPerTenant) {
      throw new ApprovalError(429, `too many pending approvals for tenant ${n.subject.tenant}`);
    }
    const t = this.now();
    const a: Approval = {
      id: `apr_${randomBytes(9).toString("base64url")}`,
      callHash: n.callHash,
      tenant: n.subject.tenant,
      requester: {
        user: n.subject.user,
        tenant: n.subject.tenant,
        ...(n.subject.credentialId ? { credentialId: n.subject.credentialId } : {}),
        authMethod: n.subject.authMethod,
      },
      server: n.server,
      tool: n.tool,
      arguments: n.arguments,
      reasons: n.reasons,
      status: "pending",
      createdAt: new Date(t).toISOString(),
      expiresAt: new Date(t + this.opts.ttlSeconds * 1000).toISOString(),
    };
    this.byId.set(a.id, a);
    this.byHash.set(a.callHash, a.id);
    await this.emit(a, "requested");
    return { approval: a, created: true };
  }

  /** Records a decision made by the caller itself through elicitation (already resolved). */
  async recordElicitation(
    n: NewApproval,
    accepted: boolean,
    outcome: string,
    comment?: string,
  ): Promise<Approval> {
    const t = this.now();
    const a: Approval = {
      id: `apr_${randomBytes(9).toString("base64url")}`,
      callHash: n.callHash,
      tenant: n.subject.tenant,
      requester: { user: n.subject.user, tenant: n.subject.tenant, authMethod: n.subject.authMethod },
      server: n.server,
      tool: n.tool,
      arguments: n.arguments,
      reasons: n.reasons,
      status: accepted ? "consumed" : "denied",
      createdAt: new Date(t).toISOString(),
      expiresAt: new Date(t).toISOString(),
      decidedBy: {
        user: n.subject.user,
        tenant: n.subject.tenant,
        ...(n.subject.credentialId ? { credentialId: n.subject.credentialId } : {}),
        via: "elicitation",
      },
      decidedAt: new Date(t).toISOString(),
      ...(comment ? { comment } : {}),
    };
    await this.emit(a, accepted ? "approved" : "denied", { via: "elicitation", outcome });
    return a;
  }

  async list(viewer: Subject, status?: ApprovalStatus): Promise<Approval[]> {
    const out: Approval[] = [];
    for (const a of this.byId.values()) {
      if (!this.visible(viewer, a)) continue;
      await this.refresh(a);
      if (!status || a.status === status) out.push(a);
    }
    return out;
  }

  async get(viewer: Subject, id: string): Promise<Approval> {
    const a = this.byId.get(id);
    if (!a || !this.visible(viewer, a)) throw new ApprovalError(404, `no approval ${id}`);
    return this.refresh(a);
  }

  async decide(
    viewer: Subject,
    id: string,
    verdict: "approve" | "deny",
    comment: string | undefined,
    via: string,
  ): Promise<Approval> {
    const a = await this.get(viewer, id);
    if (a.status !== "pending") throw new ApprovalError(409, `approval ${id} is ${a.status}, not pending`);
    if (
      verdict === "approve" &&
      !this.opts.allowSelfApproval &&
      viewer.user === a.requester.user &&
      viewer.tenant === a.requester.tenant
    ) {
      await writeAudit(this.opts.audit, {
        event: "approval.self_approval_refused",
        approvalId: a.id,
        tenant: a.tenant,
        user: viewer.user,
      });
      throw new ApprovalError(403, "the requester cannot approve their own call");
    }
    a.status = verdict === "approve" ? "approved" : "denied";
    a.decidedBy = {
      user: viewer.user,
      tenant: viewer.tenant,
      ...(viewer.credentialId ? { credentialId: viewer.credentialId } : {}),
      via,
    };
    a.decidedAt = new Date(this.now()).toISOString();
    if (comment) a.comment = comment.slice(0, 2000);
    await this.emit(a, verdict === "approve" ? "approved" : "denied");
    return a;
  }

  /** Uses up an approved approval for this exact call (one approval = one call). */
  async consume(callHash: string): Promise<Approval | undefined> {
    const live = await this.findLive(callHash);
    if (live?.status !== "approved") return undefined;
    live.status = "consumed";
    this.byHash.delete(callHash);
    await this.emit(live, "consumed");
    return live;
  }

  /** Latest approval for a call in any state (denied/expired ones explain a refusal). */
  async latest(callHash: string): Promise<Approval | undefined> {
    const id = this.byHash.get(callHash);
    const a = id ? this.byId.get(id) : undefined;
    return a ? this.refresh(a) : undefined;
  }

  /** Resolves when the approval leaves "pending", or with the still-pending one after `ms`. */
  waitFor(a: Approval, ms: number, signal?: AbortSignal): Promise<Approval> {
    if (a.status !== "pending") return Promise.resolve(a);
    return new Promise((resolve) => {
      const ws = this.waiters.get(a.id) ?? new Set<Waiter>();
      this.waiters.set(a.id, ws);
      const expiresIn = Date.parse(a.expiresAt) - this.now();
      const done = (x: Approval) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        ws.delete(done);
        resolve(x);
      };
      const onAbort = () => done(a);
      const timer = setTimeout(
        () => {
          void this.refresh(a).then(() => done(a));
        },
        Math.max(0, Math.min(ms, expiresIn + 1)),
      );
      ws.add(done);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Forgets finished approvals older than a day so memory stays bounded. */
  private sweep(): void {
    const cutoff = this.now() - 86_400_000;
    for (const [id, a] of this.byId) {
      if (a.status === "pending" || a.status === "approved") continue;
      if (Date.parse(a.decidedAt ?? a.expiresAt) < cutoff) {
        this.byId.delete(id);
        if (this.byHash.get(a.callHash) === id) this.byHash.delete(a.callHash);
      }
    }
  }
}
