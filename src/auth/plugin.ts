import { isAbsolute, join, resolve } from "node:path";
import { createApprovalAdminHandler, DEFAULT_ADMIN_BASE, startAdminServer } from "../approval/adminApi.js";
import { approvalConfigSchema, parseApprovalConfig } from "../approval/config.js";
import { createApprovalStage } from "../approval/stage.js";
import { ApprovalStore } from "../approval/store.js";
import { createWebhookNotifier } from "../approval/webhook.js";
import { registerConfigSection } from "../config/schema.js";
import { limitsConfigSchema, parseLimitsConfig } from "../limits/config.js";
import type { CounterSink } from "../limits/metrics.js";
import { createLimitsStage } from "../limits/stage.js";
import type { PluginContext } from "../server/plugins.js";
import { registerPlugin } from "../server/plugins.js";
import { type AuditSink, JsonlAuditSink } from "./audit.js";
import { type Authenticator, createAuthenticator } from "./authenticator.js";
import { type AuthConfig, authConfigSchema, parseAuthConfig } from "./config.js";
import { frontDoorAuthenticate, resourceMetadataRoutes } from "./frontDoor.js";

// Plugs identity, limits and approval into `warden serve` through the proxy's plugin registry
// and registers their warden.yaml sections (`auth`, `limits`, `approval`).
//
// - `auth` present → HTTP requests need an API key or JWT; RFC 9728 metadata and the approvals
//   admin API are mounted. Absent → the front door's anonymous default (loopback only).
// - the limits stage always runs, after policy (order 45) so policy `rate_limit` obligations
//   apply; the `limits` section adds configured buckets and budgets.
// - the approval stage always runs (order 50): a decision that requires approval must never
//   pass just because approval was not configured.

/** Where auth/approval events go when the host does not provide the audit ledger. */
let auditProvider: ((ctx: PluginContext) => AuditSink | undefined) | undefined;
let metricsSink: CounterSink | undefined;

/** Lets the host (serve / the audit area) route auth and approval events into the ledger. */
export function setIdentityAuditSink(provider: (ctx: PluginContext) => AuditSink | undefined): void {
  auditProvider = provider;
}

/** Lets the metrics area receive the limits counters. */
export function setLimitsMetricsSink(sink: CounterSink | undefined): void {
  metricsSink = sink;
}

interface Built {
  auth?: { config: AuthConfig; authenticator: Authenticator };
  store: ApprovalStore;
  audit: AuditSink;
}

const built = new WeakMap<object, Built>();
const closers: Array<() => Promise<void>> = [];

function stateDirOf(ctx: PluginContext, cfg: AuthConfig): string {
  return isAbsolute(cfg.stateDir) ? cfg.stateDir : resolve(ctx.configDir, cfg.stateDir);
}

function build(ctx: PluginContext): Built {
  const hit = built.get(ctx.config);
  if (hit) return hit;
  const rawAuth = ctx.config.auth;
  const authCfg = rawAuth === undefined ? undefined : parseAuthConfig(rawAuth);
  const stateDir = authCfg ? stateDirOf(ctx, authCfg) : resolve(ctx.configDir, ".warden");
  const audit = auditProvider?.(ctx) ?? new JsonlAuditSink(join(stateDir, "auth-events.jsonl"));
  const approval = parseApprovalConfig(ctx.config.approval);
  const store = new ApprovalStore({
    ttlSeconds: approval.ttlSeconds,
    maxPendingPerTenant: approval.maxPendingPerTenant,
    allowSelfApproval: approval.allowSelfApproval,
    audit,
  });
  let auth: Built["auth"];
  if (authCfg) {
    const config: AuthConfig = {
      ...authCfg,
      stateDir,
      apiKeys: {
        ...authCfg.apiKeys,
        ...(authCfg.apiKeys.file ? { file: resolve(ctx.configDir, authCfg.apiKeys.file) } : {}),
      },
    };
    auth = { config, authenticator: createAuthenticator(config, { audit }) };
  }
  const b: Built = { auth, store, audit };
  built.set(ctx.config, b);
  return b;
}

let registered = false;

export function registerIdentityPlugins(): void {
  if (registered) return;
  registered = true;
  registerConfigSection("auth", authConfigSchema);
  registerConfigSection("limits", limitsConfigSchema);
  registerConfigSection("approval", approvalConfigSchema);

  registerPlugin({
    name: "identity",
    order: 10,
    authenticate(ctx) {
      const { auth } = build(ctx);
      return auth ? frontDoorAuthenticate(auth.authenticator) : undefined;
    },
    routes(ctx) {
      const { auth, store, audit } = build(ctx);
      if (!auth) return [];
      const approval = parseApprovalConfig(ctx.config.approval);
      const admin = createApprovalAdminHandler({
        store,
        authenticate: auth.authenticator.authenticate,
        approverRoles: approval.approverRoles,
        audit,
      });
      return [
        ...resourceMetadataRoutes(auth.config.resourceMetadata),
        {
          path: DEFAULT_ADMIN_BASE,
          async handler(req, res) {
            await admin(req, res);
          },
        },
      ];
    },
  });

  registerPlugin({
    name: "limits",
    order: 45,
    stage(ctx) {
      // Always installed: even without a `limits` section, policy `rate_limit` obligations apply.
      return createLimitsStage(parseLimitsConfig(ctx.config.limits), { metrics: metricsSink });
    },
  });

  registerPlugin({
    name: "approval",
    order: 50,
    async stage(ctx) {
      const { store, audit, auth } = build(ctx);
      const config = parseApprovalConfig(ctx.config.approval);
      const webhook = config.webhook ? createWebhookNotifier(config.webhook) : undefined;
      if (config.adminServer) {
        if (!auth)
          throw new Error("approval.adminServer needs an `auth` section (approvers authenticate with it)");
        const admin = await startAdminServer(
          createApprovalAdminHandler({
            store,
            authenticate: auth.authenticator.authenticate,
            approverRoles: config.approverRoles,
            audit,
          }),
          config.adminServer,
        );
        closers.push(admin.close);
        process.stderr.write(`warden: approvals admin API on ${admin.url}${DEFAULT_ADMIN_BASE}\n`);
      }
      return createApprovalStage({ config, store, audit, webhook });
    },
    async close() {
      await Promise.allSettled(closers.splice(0).map((c) => c()));
    },
  });
}
