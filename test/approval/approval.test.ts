import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApprovalAdminHandler, startAdminServer } from "../../src/approval/adminApi.js";
import { parseApprovalConfig } from "../../src/approval/config.js";
import { createApprovalStage } from "../../src/approval/stage.js";
import { ApprovalStore } from "../../src/approval/store.js";
import { createWebhookNotifier } from "../../src/approval/webhook.js";
import { MemoryAuditSink } from "../../src/auth/audit.js";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { parseAuthConfig } from "../../src/auth/config.js";
import { KeyStore } from "../../src/auth/keyStore.js";
import type { CallContext, Decision } from "../../src/pipeline/types.js";
import { StageRefusal } from "../../src/pipeline/types.js";
import { makeContext } from "../limits/context.js";

const needsApproval: Decision = {
  allow: true,
  reasons: ["high risk tool"],
  requireApproval: true,
  obligations: [],
  auditTags: [],
};

async function refusal(run: () => unknown): Promise<StageRefusal> {
  try {
    await run();
  } catch (e) {
    if (e instanceof StageRefusal) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

let stateDir: string;
let keys: KeyStore;
let admin: { url: string; close(): Promise<void> };
let audit: MemoryAuditSink;
let clock: { t: number };
let store: ApprovalStore;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "warden-approval-"));
  const cfg = parseAuthConfig({ stateDir });
  keys = new KeyStore(join(stateDir, "keys.json"));
  tokens.approverA = keys.create({ name: "carol", tenant: "A", roles: ["approver"] }).token;
  tokens.approverB = keys.create({ name: "dave", tenant: "B", roles: ["approver"] }).token;
  tokens.agentA = keys.create({ name: "agent", tenant: "A", roles: ["agent"] }).token;
  tokens.root = keys.create({ name: "root", tenant: "*", roles: ["admin"] }).token;
  audit = new MemoryAuditSink();
  clock = { t: Date.now() };
  store = new ApprovalStore({
    ttlSeconds: 60,
    maxPendingPerTenant: 100,
    allowSelfApproval: false,
    audit,
    now: () => clock.t,
  });
  const auth = createAuthenticator(cfg, { keyStore: keys, audit });
  admin = await startAdminServer(
    createApprovalAdminHandler({
      store,
      authenticate: auth.authenticate,
      approverRoles: ["approver", "admin"],
      audit,
    }),
  );
});
afterAll(() => admin.close());

async function api(token: string | undefined, method: string, path: string, body?: unknown) {
  const res = await fetch(`${admin.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

function stage(over: Record<string, unknown> = {}) {
  return createApprovalStage({
    config: parseApprovalConfig({ mode: "pending", holdSeconds: 0, ...over }),
    store,
    audit,
  });
}

function call(args: Record<string, unknown>, tenant = "A", user = "alice"): CallContext {
  return makeContext({
    decision: needsApproval,
    subject: { user, tenant },
    server: "fs",
    tool: "delete_file",
    params: { name: "fs__delete_file", arguments: args },
  });
}

describe("pending approvals over the admin API", () => {
  it("holds the call, hides it from other tenants, and lets an approver of its tenant approve it once", async () => {
    const s = stage();
    const args = { path: "/tmp/x", token: "sk-abcdefghijklmnopqrstuv" };
    const r = await refusal(() => s.before?.(call(args)));
    expect(r.data).toMatchObject({ reason: "approval_pending" });
    const id = String(r.data?.approvalId);

    // no credential, wrong role, other tenant
    const none = await api(undefined, "GET", "/admin/approvals");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer resource_metadata="/);
    expect((await api(tokens.agentA, "GET", "/admin/approvals")).status).toBe(403);
    const listB = await api(tokens.approverB, "GET", "/admin/approvals?status=pending");
    expect(listB.body.approvals).toEqual([]);
    expect((await api(tokens.approverB, "GET", `/admin/approvals/${id}`)).status).toBe(404);
    expect((await api(tokens.approverB, "POST", `/admin/approvals/${id}/approve`, {})).status).toBe(404);
    expect((await api(tokens.approverB, "POST", "/admin/approvals", { id, action: "approve" })).status).toBe(
      404,
    );

    // tenant A sees it, with redacted arguments
    const listA = await api(tokens.approverA, "GET", "/admin/approvals?status=pending");
    const items = listA.body.approvals as Array<Record<string, unknown>>;
    expect(items.map((a) => a.id)).toEqual([id]);
    expect(items[0].arguments).toEqual({ path: "/tmp/x", token: "[redacted]" });
    // a cross-tenant admin sees it too
    const rootList = await api(tokens.root, "GET", "/admin/approvals");
    expect((rootList.body.approvals as unknown[]).length).toBeGreaterThan(0);

    // the same call again does not open a second approval
    const again = await refusal(() => s.before?.(call(args)));
    expect(again.data?.approvalId).toBe(id);

    const ok = await api(tokens.approverA, "POST", `/admin/approvals/${id}/approve`, {
      comment: "looks fine",
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: "approved", decidedBy: { user: "key:carol", tenant: "A" } });

    // a different call is not covered by the approval
    const other = await refusal(() => s.before?.(call({ ...args, path: "/etc/passwd" })));
    expect(other.data?.approvalId).not.toBe(id);
    // the exact call passes once (key order does not matter) ...
    const ctx = call({ token: "sk-abcdefghijklmnopqrstuv", path: "/tmp/x" });
    await s.before?.(ctx);
    expect(ctx.annotations.approval).toMatchObject({ id, decidedBy: { user: "key:carol" } });
    // ... and only once
    const third = await refusal(() => s.before?.(call(args)));
    expect(third.data?.reason).toBe("approval_pending");
    expect(third.data?.approvalId).not.toBe(id);

    const events = audit.events.filter((e) => e.approvalId === id).map((e) => e.event);
    expect(events).toEqual(["approval.requested", "approval.approved", "approval.consumed"]);
  });

  it("a held call resumes as soon as an approver approves (exact-path API form)", async () => {
    const s = stage({ holdSeconds: 20 });
    const ctx = call({ path: "/tmp/held" });
    const running = s.before?.(ctx);
    let id: string | undefined;
    for (let i = 0; i < 500 && !id; i++) {
      const list = await api(tokens.approverA, "GET", "/admin/approvals?status=pending");
      const items = list.body.approvals as Array<{ id: string; arguments: { path?: string } }>;
      id = items.find((a) => a.arguments.path === "/tmp/held")?.id;
      if (!id) await new Promise((r) => setTimeout(r, 20));
    }
    expect(id).toBeTruthy();
    const shown = await api(tokens.approverA, "GET", `/admin/approvals?id=${id}`);
    expect(shown.body.status).toBe("pending");
    expect((await api(tokens.approverA, "POST", "/admin/approvals", { id, action: "approve" })).status).toBe(
      200,
    );
    await running;
    expect(ctx.annotations.approval).toMatchObject({ id });
  });

  it("a denied approval refuses the call with who denied it and why", async () => {
    const s = stage();
    const args = { path: "/tmp/deny" };
    const r = await refusal(() => s.before?.(call(args)));
    const id = String(r.data?.approvalId);
    const d = await api(tokens.approverA, "POST", `/admin/approvals/${id}/deny`, { comment: "not on prod" });
    expect(d.body).toMatchObject({ status: "denied", comment: "not on prod" });
    const after = await refusal(() => s.before?.(call(args)));
    expect(after.message).toMatch(/denied by key:carol: not on prod/);
    expect(after.data).toMatchObject({ reason: "approval_denied", approvalId: id });
    // a decided approval cannot be decided again
    expect((await api(tokens.approverA, "POST", `/admin/approvals/${id}/approve`, {})).status).toBe(409);
    expect(audit.events.find((e) => e.approvalId === id && e.event === "approval.denied")).toMatchObject({
      decidedBy: { user: "key:carol", via: "admin_api" },
      comment: "not on prod",
    });
  });

  it("an approval that nobody decides expires, and expiry is a denial", async () => {
    const s = stage();
    const args = { path: "/tmp/expire" };
    const r = await refusal(() => s.before?.(call(args)));
    const id = String(r.data?.approvalId);
    clock.t += 61_000;
    const shown = await api(tokens.approverA, "GET", `/admin/approvals/${id}`);
    expect(shown.body.status).toBe("expired");
    expect((await api(tokens.approverA, "POST", `/admin/approvals/${id}/approve`, {})).status).toBe(409);
    expect(audit.events.some((e) => e.approvalId === id && e.event === "approval.expired")).toBe(true);
    // retrying opens a fresh approval rather than running the call
    const retry = await refusal(() => s.before?.(call(args)));
    expect(retry.data?.reason).toBe("approval_pending");
  });

  it("an approved-but-unused approval also expires", async () => {
    const s = stage();
    const args = { path: "/tmp/stale" };
    const id = String((await refusal(() => s.before?.(call(args)))).data?.approvalId);
    await api(tokens.approverA, "POST", `/admin/approvals/${id}/approve`, {});
    clock.t += 61_000;
    const r = await refusal(() => s.before?.(call(args)));
    expect(r.data?.approvalId).not.toBe(id);
  });

  it("an approval for one resource URI does not cover another", async () => {
    const s = stage();
    const read = (uri: string) =>
      makeContext({
        method: "resources/read",
        decision: needsApproval,
        subject: { user: "alice", tenant: "A" },
        server: "fs",
        tool: undefined,
        uri,
        params: { uri },
      });
    const id = String((await refusal(() => s.before?.(read("file:///a")))).data?.approvalId);
    expect((await api(tokens.approverA, "GET", `/admin/approvals/${id}`)).body.arguments).toEqual({
      uri: "file:///a",
    });
    await api(tokens.approverA, "POST", `/admin/approvals/${id}/approve`, {});
    const other = await refusal(() => s.before?.(read("file:///b")));
    expect(other.data?.approvalId).not.toBe(id);
    await s.before?.(read("file:///a"));
  });

  it("the requester cannot approve their own call", async () => {
    const s = stage();
    // carol (approver of A) makes the call herself
    const id = String(
      (await refusal(() => s.before?.(call({ path: "/tmp/self" }, "A", "key:carol")))).data?.approvalId,
    );
    const r = await api(tokens.approverA, "POST", `/admin/approvals/${id}/approve`, {});
    expect(r.status).toBe(403);
    expect(r.body.error).toMatch(/own call/);
  });

  it("answers bad requests clearly", async () => {
    expect((await api(tokens.approverA, "GET", "/admin/approvals?status=bogus")).status).toBe(400);
    expect(
      (await api(tokens.approverA, "POST", "/admin/approvals", { id: "x", action: "maybe" })).status,
    ).toBe(400);
    const res = await fetch(`${admin.url}/admin/approvals`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.approverA}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect((await api(tokens.approverA, "GET", "/admin/approvals/nope")).status).toBe(404);
    expect((await api(tokens.approverA, "GET", "/admin/approvals/%E0%A4%A")).status).toBe(400);
  });
});

describe("approval without a pending store round trip", () => {
  it("does nothing when policy does not ask for approval", async () => {
    const s = stage();
    await s.before?.(makeContext({ decision: { ...needsApproval, requireApproval: false } }));
    await s.before?.(makeContext());
  });

  it("mode elicitation refuses clients without the capability", async () => {
    const s = stage({ mode: "elicitation" });
    const r = await refusal(() => s.before?.(call({ a: 1 })));
    expect(r.data?.reason).toBe("approval_unavailable");
  });

  it("elicitation that is never answered times out as a denial", async () => {
    const s = createApprovalStage({
      config: parseApprovalConfig({ mode: "auto", elicitationTimeoutSeconds: 0.05 }),
      store,
      audit,
    });
    const ctx = call({ a: 2 });
    ctx.client = {
      capabilities: { elicitation: {} },
      elicit: (_p, signal) =>
        new Promise((_resolve, reject) =>
          signal?.addEventListener("abort", () => reject(new Error("aborted"))),
        ),
    };
    const r = await refusal(() => s.before?.(ctx));
    expect(r.data?.reason).toBe("approval_timeout");
  });

  it("an approval obligation sends the call to an approver even when the client can elicit", async () => {
    const s = createApprovalStage({ config: parseApprovalConfig({ holdSeconds: 0 }), store, audit });
    const ctx = call({ a: 3 });
    ctx.decision = { ...needsApproval, obligations: [{ type: "approval", approver: "other" }] };
    let asked = false;
    ctx.client = {
      capabilities: { elicitation: {} },
      elicit: async () => {
        asked = true;
        return { action: "accept", content: { approve: true } };
      },
    };
    const r = await refusal(() => s.before?.(ctx));
    expect(asked).toBe(false);
    expect(r.data?.reason).toBe("approval_pending");
  });
});

describe("webhook", () => {
  it("posts a Slack-compatible payload with redacted arguments for new pending approvals", async () => {
    const received: Array<Record<string, unknown>> = [];
    const hook = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push(JSON.parse(body));
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
      const s = createApprovalStage({
        config: parseApprovalConfig({ mode: "pending", holdSeconds: 0 }),
        store,
        audit,
        webhook: createWebhookNotifier({ url, timeoutMs: 2000 }),
      });
      await refusal(() => s.before?.(call({ path: "/tmp/hook", password: "hunter2" })));
      for (let i = 0; i < 500 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(received).toHaveLength(1);
      expect(String(received[0].text)).toMatch(
        /Approval needed: fs\/delete_file requested by alice \(tenant A\)/,
      );
      expect(Array.isArray(received[0].blocks)).toBe(true);
      expect(JSON.stringify(received[0])).not.toContain("hunter2");
    } finally {
      hook.closeAllConnections();
      await new Promise((r) => hook.close(r));
    }
  });
});
