// `warden serve`: runs the proxy over stdio (default) or HTTP (Streamable HTTP + legacy SSE).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { ConfigError, loadConfigFile, selectEnvironment } from "../../config/load.js";
import { createLogger } from "../../server/logger.js";
import { buildPlugins } from "../../server/plugins.js";
import { createWarden } from "../../server/warden.js";

/** The warden.yaml shipped at the package root (dist/cli/commands → ../../..). */
export const EMBEDDED_CONFIG = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../warden.yaml",
);

/** --config, then WARDEN_CONFIG, then ./warden.yaml, then the embedded default. */
export function resolveConfigPath(flag?: string): string {
  if (flag) return path.resolve(flag);
  if (process.env.WARDEN_CONFIG) return path.resolve(process.env.WARDEN_CONFIG);
  const local = path.resolve("warden.yaml");
  return existsSync(local) ? local : EMBEDDED_CONFIG;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`invalid --port '${v}': an integer 0-65535`);
  return n;
}

export function register(program: Command): void {
  program
    .command("serve")
    .description("run the proxy: stdio by default, --http for Streamable HTTP (/mcp) and legacy SSE (/sse)")
    .option(
      "-c, --config <file>",
      "warden.yaml to use (default: $WARDEN_CONFIG, ./warden.yaml, then the embedded default)",
    )
    .option(
      "-e, --env <name>",
      "environment (tool registry) to use (default: $WARDEN_ENV, then the config's `environment`)",
    )
    .option("--http", "serve HTTP instead of stdio")
    .option("-p, --port <n>", "HTTP port (default from config, 8787; 0 picks a free port)", parsePort)
    .option("-H, --host <host>", "HTTP bind address (default from config, 127.0.0.1)")
    .action(async (opts: { config?: string; env?: string; http?: boolean; port?: number; host?: string }) => {
      const log = createLogger();
      try {
        const loaded = loadConfigFile(resolveConfigPath(opts.config));
        const environment = selectEnvironment(loaded.config, opts.env);
        const plugins = await buildPlugins({ config: loaded.config, environment, configDir: loaded.baseDir });
        const warden = await createWarden({
          config: loaded,
          env: environment,
          stages: plugins.stages,
          providers: plugins.providers,
          log,
        });
        let stopping = false;
        const stop = async (code: number) => {
          if (stopping) return;
          stopping = true;
          await warden.close();
          await plugins.close();
          process.exit(code);
        };
        process.once("SIGINT", () => void stop(0));
        process.once("SIGTERM", () => void stop(0));
        if (opts.http) {
          const door = await warden.listenHttp({
            host: opts.host,
            port: opts.port,
            authenticate: plugins.authenticate,
            routes: plugins.routes,
          });
          process.stderr.write(
            `warden: serving ${door.url}/mcp (Streamable HTTP) and ${door.url}/sse (legacy SSE), environment ${environment}\n`,
          );
        } else {
          const door = warden.serveStdio();
          await door.done;
          await stop(0);
        }
      } catch (err) {
        process.stderr.write(
          `warden serve: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`,
        );
        process.exit(2);
      }
    });
}
