// Registry filtering as the first pipeline stage: hides unlisted tools and refuses calls to them.
import {
  type CallContext,
  type ListContext,
  type Stage,
  StageRefusal,
  type ToolDescriptor,
} from "../pipeline/types.js";
import type { ToolRegistry } from "./registry.js";

export function registryStage(registry: ToolRegistry, separator: string): Stage {
  return {
    name: "registry",
    // Only the tool name, which the router has already split into ctx.server/ctx.tool.
    reads: { methods: ["tools/call"], params: false },
    filterTools(ctx: ListContext, tools: ToolDescriptor[]): ToolDescriptor[] {
      const prefixLength = ctx.server.length + separator.length;
      return tools.filter((t) => registry.lookup(ctx.server, t.name.slice(prefixLength)) !== undefined);
    },
    before(ctx: CallContext): void {
      if (ctx.method !== "tools/call") return;
      const meta = ctx.server && ctx.tool ? registry.lookup(ctx.server, ctx.tool) : undefined;
      if (!meta) {
        throw new StageRefusal(
          "registry",
          `tool '${ctx.exposedName ?? ctx.tool}' is not exposed in environment '${registry.environment}'`,
          -32602,
        );
      }
      ctx.toolMeta = meta;
    },
  };
}
