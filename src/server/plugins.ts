// How other areas plug into `warden serve` without editing it: register a plugin (typically from
// your CLI module's register(), which program.ts runs at startup) and serve builds from all of them.
import type { IncomingMessage } from "node:http";
import type { WardenConfig } from "../config/schema.js";
import type { LocalToolProvider, Stage, Subject } from "../pipeline/types.js";
import type { HttpRoute } from "./http.js";

export interface PluginContext {
  config: WardenConfig;
  environment: string;
  /** Folder of the config file (resolve relative paths against it). */
  configDir: string;
}

export interface WardenPlugin {
  name: string;
  /**
   * Pipeline position; lower runs first. The registry stage is always first (0). Suggested:
   * identity 10, limits 20, scan-in 30, policy 40, approval 50, sandbox 60, scan-out 70, audit 80, metrics 90.
   */
  order?: number;
  stage?(ctx: PluginContext): Stage | undefined | Promise<Stage | undefined>;
  providers?(ctx: PluginContext): LocalToolProvider[] | Promise<LocalToolProvider[]>;
  /** At most one plugin may authenticate HTTP requests. */
  authenticate?(ctx: PluginContext): ((req: IncomingMessage) => Promise<Subject>) | undefined;
  routes?(ctx: PluginContext): HttpRoute[];
  close?(): Promise<void>;
}

const plugins: WardenPlugin[] = [];

export function registerPlugin(plugin: WardenPlugin): void {
  if (plugins.some((p) => p.name === plugin.name))
    throw new Error(`warden plugin '${plugin.name}' registered twice`);
  plugins.push(plugin);
}

export function registeredPlugins(): readonly WardenPlugin[] {
  return plugins;
}

export interface PluginBuild {
  stages: Stage[];
  providers: LocalToolProvider[];
  authenticate?: (req: IncomingMessage) => Promise<Subject>;
  routes: HttpRoute[];
  close(): Promise<void>;
}

export async function buildPlugins(
  ctx: PluginContext,
  list: readonly WardenPlugin[] = plugins,
): Promise<PluginBuild> {
  const sorted = [...list].sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
  const out: PluginBuild = {
    stages: [],
    providers: [],
    routes: [],
    close: async () => {
      await Promise.allSettled(sorted.map((p) => p.close?.()));
    },
  };
  for (const p of sorted) {
    const stage = await p.stage?.(ctx);
    if (stage) out.stages.push(stage);
    if (p.providers) out.providers.push(...(await p.providers(ctx)));
    const auth = p.authenticate?.(ctx);
    if (auth) {
      if (out.authenticate) throw new Error(`two plugins authenticate HTTP requests (second: '${p.name}')`);
      out.authenticate = auth;
    }
    if (p.routes) out.routes.push(...p.routes(ctx));
  }
  return out;
}
