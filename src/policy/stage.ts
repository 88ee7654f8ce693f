// The policy stage: decides every governed call and what tools/list shows.
import {
  type CallContext,
  type ListContext,
  type Stage,
  StageRefusal,
  type ToolDescriptor,
  type ToolMeta,
} from "../pipeline/types.js";
import type { PolicyEngine, PolicyEvaluation } from "./engine.js";
import { buildListInput } from "./input.js";

export const GOVERNED_METHODS = ["tools/call", "resources/read", "prompts/get"] as const;

export interface PolicyStageOptions {
  /** JSON-RPC methods decided by policy (default tools/call, resources/read, prompts/get). */
  methods?: readonly string[];
  /** Between server and tool in exposed names (default "__"); used to recover tool names in tools/list. */
  separator?: string;
  /** Registry metadata for tools/list decisions (the call path gets it from ctx.toolMeta). */
  toolMeta?(server: string, tool: string): ToolMeta | undefined;
  /** Decide tools/list visibility with policy (default true). */
  filterTools?: boolean;
}

/** Key under ctx.annotations where the stage leaves its evaluation for audit and metrics. */
export const POLICY_ANNOTATION = "policy";

export function policyStage(engine: PolicyEngine, opts: PolicyStageOptions = {}): Stage {
  const methods = new Set(opts.methods ?? GOVERNED_METHODS);
  const separator = opts.separator ?? "__";
  const stage: Stage = {
    name: "policy",
    reads: { methods: [...methods] },
    async before(ctx: CallContext): Promise<void> {
      if (!methods.has(ctx.method)) return;
      const ev = await engine.evaluate(ctx);
      ctx.decision = ev.decision;
      ctx.annotations[POLICY_ANNOTATION] = ev;
      if (ev.outcome === "deny") {
        throw new StageRefusal("policy", `denied by policy: ${ev.decision.reasons.join("; ")}`, -32001, {
          reasons: ev.decision.reasons,
          policyVersion: ev.policyVersion,
        });
      }
    },
  };
  if (opts.filterTools !== false) {
    stage.filterTools = async (ctx: ListContext, tools: ToolDescriptor[]): Promise<ToolDescriptor[]> => {
      const eff = engine.modeFor(ctx.subject.tenant, ctx.subject.user, null);
      if (eff !== "enforce") return tools;
      const prefix = `${ctx.server}${separator}`;
      const keep = await Promise.all(
        tools.map(async (t) => {
          const name = t.name.startsWith(prefix) ? t.name.slice(prefix.length) : t.name;
          const input = buildListInput(
            ctx,
            { name, exposedName: t.name, meta: opts.toolMeta?.(ctx.server, name) },
            engine.inputOptions(),
          );
          const ev = await engine.evaluateInput(input, eff);
          return ev.decision.allow;
        }),
      );
      return tools.filter((_, i) => keep[i]);
    };
  }
  return stage;
}

/** The policy evaluation a call carries, if the policy stage ran. */
export function policyEvaluationOf(ctx: CallContext): PolicyEvaluation | undefined {
  return ctx.annotations[POLICY_ANNOTATION] as PolicyEvaluation | undefined;
}
