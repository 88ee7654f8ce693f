// The metrics stage: counts every call by server, tool and outcome, and its duration.
import { type CallContext, type Stage, StageRefusal } from "../pipeline/types.js";
import type { WardenMetrics } from "./registry.js";

function seconds(ctx: CallContext): number {
  return Number(process.hrtime.bigint() - ctx.startedAt) / 1e9;
}

export function metricsStage(metrics: WardenMetrics): Stage {
  return {
    name: "metrics",
    after(ctx: CallContext): void {
      const isError = !!ctx.result && (ctx.result as { isError?: unknown }).isError === true;
      metrics.recordToolCall(ctx.server, ctx.tool, isError ? "error" : "ok", seconds(ctx));
    },
    onRefusal(ctx: CallContext, error: StageRefusal | Error): void {
      const outcome =
        error instanceof StageRefusal ? (error.stage === "policy" ? "denied" : "refused") : "error";
      metrics.recordToolCall(ctx.server, ctx.tool, outcome, seconds(ctx));
    },
  };
}
