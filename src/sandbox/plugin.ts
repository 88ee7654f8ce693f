// Plugs the code tools into `warden serve`: with a `sandbox:` section in warden.yaml, the
// provider is mounted under its name (default "sandbox"), so a server entry
// `code: { builtin: sandbox }` plus registry lines expose run_javascript, run_python and user
// .wasm tools like any other tool (registry, policy, scanning, audit and metrics apply).
// Without the section nothing is built, and no runtime is compiled or spawned.
import { registerConfigSection } from "../config/schema.js";
import { governanceFor } from "../policy/plugin.js";
import { type PluginContext, registeredPlugins, registerPlugin } from "../server/plugins.js";
import { parseSandboxConfig, sandboxConfigSchema } from "./config.js";
import { sandboxMetrics } from "./metrics.js";
import { createSandboxProvider, type SandboxProvider } from "./provider.js";

export function registerSandboxPlugin(): void {
  if (registeredPlugins().some((p) => p.name === "sandbox")) return;
  registerConfigSection("sandbox", sandboxConfigSchema);
  const open = new Set<SandboxProvider>();
  registerPlugin({
    name: "sandbox",
    order: 60,
    async providers(ctx: PluginContext) {
      if (ctx.config.sandbox === undefined) return [];
      const config = parseSandboxConfig(ctx.config.sandbox);
      // Runs are counted on the same registry as the rest of warden's metrics, when it is on.
      const metrics = (await governanceFor(ctx)).metrics;
      const provider = createSandboxProvider(
        { ...config, baseDir: config.baseDir ?? ctx.configDir },
        { onOutcome: metrics ? sandboxMetrics(metrics.registry) : undefined },
      );
      open.add(provider);
      return [provider];
    },
    async close() {
      await Promise.allSettled([...open].map((p) => p.close()));
      open.clear();
    },
  });
}
