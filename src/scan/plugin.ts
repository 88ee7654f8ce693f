// Plugs the scanner into `warden serve` when warden.yaml has a `scan:` section (absent: the
// proxy passes everything unscanned, as before). Two stages:
// - "scan", order 30: arguments are scanned before policy (order 40) decides, and results after
//   policy's own after-hook, with its obligations at hand;
// - "scan-policy-in", order 45: policy's obligations on arguments (redact, block), after policy
//   decided and before the call is forwarded (approval 50, sandbox 60).
// Tool events go to the log, and to the audit ledger and metrics of the governance plugins when
// those are on.
import path from "node:path";
import { governanceFor } from "../policy/plugin.js";
import { createLogger } from "../server/logger.js";
import { type PluginContext, registeredPlugins, registerPlugin } from "../server/plugins.js";
import { parseScanConfig } from "./config.js";
import { type ToolEventTargets, toolEventSink } from "./events.js";
import { PinStore } from "./pins.js";
import { createPolicyArgumentStage, createScanStage } from "./stage.js";

/** The ledger and metrics of `warden serve`, when the governance plugins run and have them on. */
async function governanceTargets(ctx: PluginContext): Promise<Pick<ToolEventTargets, "audit" | "metrics">> {
  // governanceFor builds (once per config) what the governance plugins serve with; only ask when
  // they are registered, so that they also close it.
  if (!registeredPlugins().some((p) => p.name === "governance-audit")) return {};
  const gov = await governanceFor(ctx);
  return { audit: gov.ledger, metrics: gov.metrics };
}

export function registerScanPlugin(): void {
  if (registeredPlugins().some((p) => p.name === "scan")) return;
  registerPlugin({
    name: "scan",
    order: 30,
    async stage(ctx: PluginContext) {
      if (ctx.config.scan === undefined) return undefined;
      const config = parseScanConfig(ctx.config.scan);
      const stateDir = path.resolve(ctx.configDir, config.pins.stateDir);
      const log = createLogger();
      return createScanStage({
        config,
        pins: config.pins.enabled ? new PinStore(stateDir) : undefined,
        onToolEvent: toolEventSink({ ...(await governanceTargets(ctx)), log }),
      });
    },
  });
  registerPlugin({
    name: "scan-policy-in",
    order: 45,
    stage(ctx: PluginContext) {
      if (ctx.config.scan === undefined) return undefined;
      return createPolicyArgumentStage({ config: parseScanConfig(ctx.config.scan) });
    },
  });
}
