// The metrics stage: counts every call by server, tool and outcome, and its duration.
import type { CallContext, Stage } from "../pipeline/types.js";
import type { WardenMetrics } from "./registry.js";

function seconds(ctx: CallContext): number {
  return Number(process.hrtime.bigint() - ctx.startedAt) / 1e9;
}

/** Outcome label: ok, error (tool result isError or failure), denied (policy) or refused (another stage). */
export function callOutcome(ctx: CallContext): string {
  const e = ctx.error;
  if (e) {
    if (e.stage === "policy") return "denied";
    return e.stage && e.code !== -32603 ? "refused" : "error";
  }
  return ctx.result && (ctx.result as { isError?: unknown }).isError === true ? "error" : "ok";
}

export function metricsStage(metrics: WardenMetrics): Stage {
  return {
    name: "metrics",
    // Only the facts the router fills in (server, tool, outcome), never the arguments, and of
    // the result only isError (so a result kept as bytes stays bytes).
    reads: { params: false, result: "isError" },
    after(ctx: CallContext): void {
      metrics.recordToolCall(ctx.server, ctx.tool, callOutcome(ctx), seconds(ctx));
    },
  };
}
