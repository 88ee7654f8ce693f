// Plugs the scan stage into `warden serve` when warden.yaml has a `scan:` section (absent: the
// proxy passes everything unscanned, as before). Order 30: arguments are scanned before policy
// (order 40) decides, and results after policy's own after-hook, with its obligations at hand.
import path from "node:path";
import { createLogger } from "../server/logger.js";
import { type PluginContext, registeredPlugins, registerPlugin } from "../server/plugins.js";
import { parseScanConfig } from "./config.js";
import { PinStore } from "./pins.js";
import { createScanStage, type ToolEvent } from "./stage.js";

export function registerScanPlugin(): void {
  if (registeredPlugins().some((p) => p.name === "scan")) return;
  registerPlugin({
    name: "scan",
    order: 30,
    stage(ctx: PluginContext) {
      if (ctx.config.scan === undefined) return undefined;
      const config = parseScanConfig(ctx.config.scan);
      const stateDir = path.resolve(ctx.configDir, config.pins.stateDir);
      const log = createLogger();
      return createScanStage({
        config,
        pins: config.pins.enabled ? new PinStore(stateDir) : undefined,
        onToolEvent: (e: ToolEvent) => {
          if (e.type === "tool_pinned") return;
          log(
            "warn",
            `scan: ${e.type} ${e.server}/${e.tool} (${e.action})${e.detail ? `: ${e.detail}` : ""}`,
          );
        },
      });
    },
  });
}
