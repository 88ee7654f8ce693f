import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type AuditSink, writeAudit } from "../auth/audit.js";
import { AuthError } from "../auth/errors.js";
import type { Subject } from "../pipeline/types.js";
import { type Approval, ApprovalError, type ApprovalStatus, type ApprovalStore } from "./store.js";

// Admin HTTP API for pending approvals. Mount it on the proxy's HTTP server (the handler
// returns false for paths it does not own) or run it standalone. It has its own credentials:
// the injected authenticate (API keys/JWT) and a required role (approver/admin by default).
//
//   GET  <base>                      list (?status=pending|approved|denied|expired|consumed)
//   GET  <base>/<id>                 show
//   POST <base>/<id>/approve         {"comment": "..."}
//   POST <base>/<id>/deny            {"comment": "..."}
//
// The same operations on the base path alone, for front doors that mount exact paths:
//   GET  <base>?id=<id>              show
//   POST <base>                      {"id": "...", "action": "approve"|"deny", "comment": "..."}

export const DEFAULT_ADMIN_BASE = "/admin/approvals";
const STATUSES = new Set(["pending", "approved", "denied", "expired", "consumed"]);
const MAX_BODY = 16 * 1024;

export interface AdminApiOptions {
  store: ApprovalStore;
  authenticate: (req: IncomingMessage) => Promise<Subject>;
  approverRoles: string[];
  audit?: AuditSink;
  basePath?: string;
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApprovalError(400, "request body too large");
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v as Record<string, unknown>;
  } catch {
    throw new ApprovalError(400, "the body must be a JSON object");
  }
}

function view(a: Approval): Approval {
  return a;
}

export function createApprovalAdminHandler(opts: AdminApiOptions): AdminHandler {
  const base = (opts.basePath ?? DEFAULT_ADMIN_BASE).replace(/\/$/, "");
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.replace(/\/$/, "");
    if (path !== base && !path.startsWith(`${base}/`)) return false;
    let viewer: Subject;
    try {
      viewer = await opts.authenticate(req);
    } catch (e) {
      if (e instanceof AuthError) {
        send(
          res,
          e.status,
          { error: e.code ?? "unauthorized", error_description: e.description },
          {
            ...(e.wwwAuthenticate ? { "www-authenticate": e.wwwAuthenticate } : {}),
          },
        );
      } else {
        send(res, 401, { error: "unauthorized" });
      }
      return true;
    }
    if (!viewer.roles.some((r) => opts.approverRoles.includes(r))) {
      await writeAudit(opts.audit, {
        event: "approval.admin_forbidden",
        user: viewer.user,
        tenant: viewer.tenant,
        path,
      });
      send(res, 403, {
        error: "forbidden",
        error_description: `requires role ${opts.approverRoles.join(" or ")}`,
      });
      return true;
    }
    try {
      const rest = path.slice(base.length).split("/").filter(Boolean).map(decodeURIComponent);
      const qid = url.searchParams.get("id");
      if (rest.length === 0 && req.method === "GET" && qid) {
        send(res, 200, view(await opts.store.get(viewer, qid)));
        return true;
      }
      if (rest.length === 0 && req.method === "POST") {
        const body = await readJson(req);
        const { id, action, comment } = body;
        if (typeof id !== "string" || !id) throw new ApprovalError(400, "id must be a non-empty string");
        if (action !== "approve" && action !== "deny")
          throw new ApprovalError(400, 'action must be "approve" or "deny"');
        if (comment !== undefined && typeof comment !== "string")
          throw new ApprovalError(400, "comment must be a string");
        send(res, 200, view(await opts.store.decide(viewer, id, action, comment, "admin_api")));
        return true;
      }
      if (rest.length === 0 && req.method === "GET") {
        const status = url.searchParams.get("status") ?? undefined;
        if (status && !STATUSES.has(status)) throw new ApprovalError(400, `unknown status ${status}`);
        const items = await opts.store.list(viewer, status as ApprovalStatus | undefined);
        send(res, 200, { approvals: items.map(view) });
        return true;
      }
      if (rest.length === 1 && req.method === "GET") {
        send(res, 200, view(await opts.store.get(viewer, rest[0])));
        return true;
      }
      if (rest.length === 2 && req.method === "POST" && (rest[1] === "approve" || rest[1] === "deny")) {
        const body = await readJson(req);
        const comment = body.comment;
        if (comment !== undefined && typeof comment !== "string")
          throw new ApprovalError(400, "comment must be a string");
        const a = await opts.store.decide(viewer, rest[0], rest[1], comment, "admin_api");
        send(res, 200, view(a));
        return true;
      }
      send(res, rest.length <= 2 ? 405 : 404, { error: "not_found" });
    } catch (e) {
      if (e instanceof ApprovalError) send(res, e.status, { error: e.message });
      else if (e instanceof URIError) send(res, 400, { error: "malformed path" });
      else send(res, 500, { error: "internal error" });
    }
    return true;
  };
}

/** Runs the admin API on its own listener (default 127.0.0.1, ephemeral port when 0). */
export async function startAdminServer(
  handler: AdminHandler,
  opts: { host?: string; port?: number } = {},
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handler(req, res)
      .then((handled) => {
        if (!handled) send(res, 404, { error: "not_found" });
      })
      .catch(() => {
        if (!res.headersSent) send(res, 500, { error: "internal error" });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    url: `http://${addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
