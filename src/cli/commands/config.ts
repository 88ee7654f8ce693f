// `warden config check`: validates warden.yaml and the environment's tool registry, prints the
// effective configuration with every ${env:...} value shown as its reference (secrets never printed).
import path from "node:path";
import type { Command } from "commander";
import { stringify } from "yaml";
import { ConfigError, loadConfigFile, selectEnvironment } from "../../config/load.js";
import { loadRegistry } from "../../registry/registry.js";
import { resolveConfigPath } from "./serve.js";

export function checkConfig(opts: { config?: string; env?: string }): string {
  const loaded = loadConfigFile(resolveConfigPath(opts.config));
  const environment = selectEnvironment(loaded.config, opts.env);
  const registry = loadRegistry(path.resolve(loaded.baseDir, loaded.config.registry.dir), environment);
  const undeclared = registry.servers().filter((s) => !(s in loaded.config.servers));
  if (undeclared.length) {
    throw new ConfigError(
      registry.source,
      undeclared.map((s) => ({ path: `servers.${s}`, message: "a server declared in warden.yaml" })),
    );
  }
  const lines = [
    `# config: ${loaded.file}`,
    `# environment: ${environment}`,
    `# registry: ${registry.source} (servers: ${registry.servers().join(", ") || "none"})`,
    ...loaded.unvalidatedSections.map(
      (s) => `# warning: section '${s}' has no registered schema and was not validated`,
    ),
    stringify({ ...loaded.masked, environment }),
  ];
  return lines.join("\n");
}

export function register(program: Command): void {
  const config = program.command("config").description("inspect warden.yaml");
  config
    .command("check")
    .description(
      "validate the configuration and tool registry, then print the effective config (secrets masked)",
    )
    .option(
      "-c, --config <file>",
      "warden.yaml to check (default: $WARDEN_CONFIG, ./warden.yaml, then the embedded default)",
    )
    .option(
      "-e, --env <name>",
      "environment to check (default: $WARDEN_ENV, then the config's `environment`)",
    )
    .action((opts: { config?: string; env?: string }) => {
      try {
        process.stdout.write(`${checkConfig(opts)}\n`);
      } catch (err) {
        process.stderr.write(`warden config check: ${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}
