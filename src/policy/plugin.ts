// Plugs the governance pipeline into `warden serve` and registers its warden.yaml sections
// (`policy`, `audit`, `metrics`). A section that is absent leaves that part off.
//
// Positions: audit is order 1 and metrics order 2 — after hooks run in reverse, so theirs run
// last and see the final outcome of every call (refusals, downstream errors, output scans);
// policy is order 40 (after identity, limits' budgets and the input scan, before approval).
import path from "node:path";
import { auditConfigSchema } from "../audit/config.js";
import { ledgerAuditSink } from "../audit/sink.js";
import { setIdentityAuditSink, setLimitsMetricsSink } from "../auth/plugin.js";
import { registerConfigSection } from "../config/schema.js";
import { promCounterSink } from "../limits/metrics.js";
import { metricsConfigSchema } from "../metrics/config.js";
import { loadRegistry, type ToolRegistry } from "../registry/registry.js";
import { createLogger } from "../server/logger.js";
import { type PluginContext, registerPlugin } from "../server/plugins.js";
import { killSwitchRoute } from "./admin.js";
import { policyConfigSchema } from "./config.js";
import type { PolicyLogger } from "./engine.js";
import { createGovernance, type Governance } from "./governance.js";

const built = new WeakMap<object, Promise<Governance>>();
const ready = new WeakMap<object, Governance>();
const byContext = new Set<Governance>();

function logger(): PolicyLogger {
  const log = createLogger();
  const line = (obj: object, msg?: string) => `${msg ?? ""} ${JSON.stringify(obj)}`.trim();
  return {
    info: (o, m) => log("info", line(o, m)),
    warn: (o, m) => log("warn", line(o, m)),
    error: (o, m) => log("error", line(o, m)),
  };
}

/** Builds (once per loaded config) the engine, ledger and metrics of a `warden serve` run. */
export function governanceFor(ctx: PluginContext): Promise<Governance> {
  let g = built.get(ctx.config);
  if (!g) {
    const cfg = ctx.config;
    let registry: ToolRegistry | undefined;
    try {
      registry = loadRegistry(path.resolve(ctx.configDir, cfg.registry.dir), ctx.environment);
    } catch {
      registry = undefined; // the proxy core reports registry errors itself
    }
    g = createGovernance({
      configDir: ctx.configDir,
      environment: ctx.environment,
      policy: cfg.policy === undefined ? undefined : policyConfigSchema.parse(cfg.policy),
      audit: cfg.audit === undefined ? undefined : auditConfigSchema.parse(cfg.audit),
      metrics: cfg.metrics === undefined ? undefined : metricsConfigSchema.parse(cfg.metrics),
      separator: cfg.namespace.separator,
      toolMeta: registry ? (server, tool) => registry?.lookup(server, tool) : undefined,
      logger: logger(),
    }).then(async (gov) => {
      ready.set(ctx.config, gov);
      byContext.add(gov);
      if (gov.metrics) setLimitsMetricsSink(await promCounterSink(gov.metrics.registry));
      return gov;
    });
    built.set(ctx.config, g);
  }
  return g;
}

/** Lets serve (or a test) expose upstream state as upstream_up{server}. */
export function observeUpstreams(source: () => ReadonlyArray<{ name: string; state: string }>): void {
  for (const g of byContext) g.metrics?.observeUpstreams(source);
}

let registered = false;

export function registerGovernancePlugins(): void {
  if (registered) return;
  registered = true;
  registerConfigSection("policy", policyConfigSchema);
  registerConfigSection("audit", auditConfigSchema);
  registerConfigSection("metrics", metricsConfigSchema);
  // Auth and approval events go into the same hash chain when the ledger is on.
  setIdentityAuditSink((ctx) => {
    const ledger = ready.get(ctx.config)?.ledger;
    return ledger ? ledgerAuditSink(ledger) : undefined;
  });
  registerPlugin({
    name: "governance-audit",
    order: 1,
    async stage(ctx) {
      return (await governanceFor(ctx)).auditStage;
    },
    async close() {
      for (const g of byContext) await g.close();
      byContext.clear();
    },
  });
  registerPlugin({
    name: "governance-metrics",
    order: 2,
    async stage(ctx) {
      return (await governanceFor(ctx)).metricsStage;
    },
  });
  registerPlugin({
    name: "governance-policy",
    order: 40,
    async stage(ctx) {
      return (await governanceFor(ctx)).policyStage;
    },
    routes(ctx) {
      if (ctx.config.policy === undefined) return [];
      const cfg = policyConfigSchema.parse(ctx.config.policy);
      return [
        killSwitchRoute({
          roles: cfg.adminRoles,
          async targets() {
            const g = await governanceFor(ctx);
            const ledger = g.ledger;
            return { engine: g.engine, metrics: g.metrics, audit: ledger && ((e) => ledger.append(e)) };
          },
        }),
      ];
    },
  });
}
