// Admin HTTP endpoint for the policy kill switch, mounted on the HTTP front door:
//
//   GET  /admin/policy/kill-switch                     → {"killSwitch": false, "mode": "enforce", …}
//   POST /admin/policy/kill-switch  {"on": true, "reason": "incident 42"}  → the new state
//
// Authenticated like every front-door request (API key or JWT from the `auth` section); the
// caller also needs one of `policy.adminRoles` (default admin). Anonymous callers — including
// everyone when no `auth` section is configured — get 401, callers without the role 403. Every
// request is counted (policy_admin_requests_total{action,outcome}); changes and refusals are
// audited (changes as `kill_switch_on` / `kill_switch_off` with the caller as subject).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuditEntry, AuditSubject } from "../audit/record.js";
import type { WardenMetrics } from "../metrics/registry.js";
import type { Subject } from "../pipeline/types.js";
import type { HttpRoute } from "../server/http.js";
import type { PolicyEngine } from "./engine.js";

export const KILL_SWITCH_PATH = "/admin/policy/kill-switch";
const MAX_BODY = 4 * 1024;

export interface AdminTargets {
  engine?: PolicyEngine;
  audit?: (entry: AuditEntry) => unknown;
  metrics?: WardenMetrics;
}

export interface KillSwitchRouteOptions {
  /** The engine, ledger and metrics, once built (governance is built asynchronously). */
  targets: () => Promise<AdminTargets>;
  /** Roles allowed to read and flip the switch. */
  roles: readonly string[];
  path?: string;
}

class AdminRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<{ on: boolean; reason?: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new AdminRequestError(413, "invalid_request", "request body too large");
    chunks.push(c as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new AdminRequestError(400, "invalid_request", 'the body must be JSON like {"on": true}');
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new AdminRequestError(400, "invalid_request", 'the body must be a JSON object like {"on": true}');
  const { on, reason, ...rest } = body as Record<string, unknown>;
  if (typeof on !== "boolean")
    throw new AdminRequestError(400, "invalid_request", '"on" must be true or false');
  if (reason !== undefined && (typeof reason !== "string" || reason.length > 500))
    throw new AdminRequestError(
      400,
      "invalid_request",
      '"reason" must be a string of at most 500 characters',
    );
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw new AdminRequestError(400, "invalid_request", `unknown field(s): ${unknown.join(", ")}`);
  return { on, reason };
}

function auditSubject(s: Subject): AuditSubject {
  return {
    user: s.user,
    tenant: s.tenant,
    team: s.team,
    authMethod: s.authMethod,
    credentialId: s.credentialId,
  };
}

export function killSwitchRoute(opts: KillSwitchRouteOptions): HttpRoute {
  const path = opts.path ?? KILL_SWITCH_PATH;
  const refuse = async (
    t: AdminTargets,
    res: ServerResponse,
    action: string,
    subject: Subject,
    err: AdminRequestError,
  ) => {
    t.metrics?.recordAdminRequest(action, err.code);
    if (err.status === 401 || err.status === 403)
      await t.audit?.({
        event: "policy",
        decision: "admin_refused",
        subject: auditSubject(subject),
        reasons: [err.message],
        detail: { path, action, status: err.status },
      });
    send(res, err.status, { error: err.code, error_description: err.message });
  };
  return {
    path,
    // The front door authenticates first: a request with bad credentials never gets here (401).
    authenticate: true,
    async handler(req, res, subject) {
      const action = req.method === "GET" ? "read" : req.method === "POST" ? "set" : "other";
      const who = subject as Subject;
      const t = await opts.targets();
      const count = (outcome: string) => t.metrics?.recordAdminRequest(action, outcome);
      if (action === "other") {
        count("method_not_allowed");
        res.setHeader("allow", "GET, POST");
        send(res, 405, { error: "method_not_allowed", error_description: "use GET or POST" });
        return;
      }
      if (who.authMethod === "anonymous")
        return refuse(
          t,
          res,
          action,
          who,
          new AdminRequestError(
            401,
            "unauthorized",
            "the policy admin API needs an authenticated caller (configure auth: API keys or JWT)",
          ),
        );
      if (!who.roles.some((r) => opts.roles.includes(r)))
        return refuse(
          t,
          res,
          action,
          who,
          new AdminRequestError(403, "forbidden", `requires role ${opts.roles.join(" or ")}`),
        );
      const engine = t.engine;
      if (!engine) {
        count("unavailable");
        send(res, 503, { error: "unavailable", error_description: "policy is not configured" });
        return;
      }
      if (action === "set") {
        let body: { on: boolean; reason?: string };
        try {
          body = await readBody(req);
        } catch (err) {
          if (err instanceof AdminRequestError) return refuse(t, res, action, who, err);
          throw err;
        }
        await engine.setKillSwitch(body.on, "admin_api", { subject: auditSubject(who), reason: body.reason });
      }
      count("ok");
      const s = engine.status();
      send(res, 200, { killSwitch: s.killSwitch, mode: s.mode, version: s.version, backend: s.backend });
    },
  };
}
