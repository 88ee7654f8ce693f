// Builds the governance pipeline (policy engine, audit ledger, metrics) from warden.yaml
// sections and hands out its stages. Used by the `warden serve` plugins (./plugin.ts) and by
// programs that call createWarden({ stages }) themselves.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { AuditConfig } from "../audit/config.js";
import { AuditLedger } from "../audit/ledger.js";
import { auditStage } from "../audit/stage.js";
import type { MetricsConfig } from "../metrics/config.js";
import { WardenMetrics } from "../metrics/registry.js";
import { type MetricsServer, startMetricsServer } from "../metrics/server.js";
import { metricsStage } from "../metrics/stage.js";
import type { Stage, ToolMeta } from "../pipeline/types.js";
import type { PolicyBackend } from "./backend.js";
import { regoBackend } from "./backends/rego.js";
import { remoteBackend } from "./backends/remote.js";
import { wasmBackend } from "./backends/wasm.js";
import type { PolicyConfig } from "./config.js";
import { PolicyEngine, type PolicyLogger } from "./engine.js";
import { policyStage } from "./stage.js";

export interface GovernanceOptions {
  /** Folder relative paths are resolved against (the config file's folder). */
  configDir: string;
  environment: string;
  /** Parsed sections; an absent section leaves that part off. */
  policy?: PolicyConfig;
  audit?: AuditConfig;
  metrics?: MetricsConfig;
  /** Namespace separator (for tools/list decisions). */
  separator?: string;
  /** Registry metadata for tools/list decisions. */
  toolMeta?(server: string, tool: string): ToolMeta | undefined;
  logger?: PolicyLogger;
  /** Install SIGHUP (reload) and SIGUSR2 (kill switch) handlers (default true). */
  signals?: boolean;
  /** Use this backend instead of the one the policy section names (tests, embedding). */
  backend?: PolicyBackend;
}

export interface Governance {
  readonly engine?: PolicyEngine;
  readonly ledger?: AuditLedger;
  readonly metrics?: WardenMetrics;
  /** Absent when metrics are off, or when the listener could not start (warned, not fatal). */
  readonly metricsServer?: MetricsServer;
  /** In pipeline order: audit (its after hook runs last), metrics, policy. */
  readonly stages: Stage[];
  readonly auditStage?: Stage;
  readonly metricsStage?: Stage;
  readonly policyStage?: Stage;
  close(): Promise<void>;
}

function at(configDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(configDir, p);
}

export function backendFor(cfg: PolicyConfig, configDir: string): PolicyBackend {
  switch (cfg.backend) {
    case "wasm":
      return wasmBackend({ path: at(configDir, cfg.bundle as string), entrypoint: cfg.entrypoint });
    case "remote":
      return remoteBackend({ url: cfg.url as string, path: cfg.entrypoint, headers: cfg.headers });
    default:
      return regoBackend({ paths: cfg.paths.map((p) => at(configDir, p)), entrypoint: cfg.entrypoint });
  }
}

/** The arguments-HMAC key: from the environment, else a random key kept in a 0600 file beside the ledger. */
async function auditKey(cfg: AuditConfig, ledgerPath: string): Promise<Buffer> {
  const fromEnv = process.env[cfg.keyEnv];
  if (fromEnv) return Buffer.from(fromEnv, "utf8");
  const file = join(dirname(ledgerPath), "audit-hmac.key");
  try {
    return Buffer.from((await readFile(file, "utf8")).trim(), "hex");
  } catch {
    const key = randomBytes(32);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" }).catch(() => {});
    await chmod(file, 0o600).catch(() => {});
    return Buffer.from((await readFile(file, "utf8")).trim(), "hex");
  }
}

export async function createGovernance(opts: GovernanceOptions): Promise<Governance> {
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    let metrics: WardenMetrics | undefined;
    let metricsServer: MetricsServer | undefined;
    if (opts.metrics?.enabled) {
      metrics = new WardenMetrics({
        maxLabelValues: opts.metrics.maxLabelValues,
        processMetrics: opts.metrics.processMetrics,
      });
      // A busy metrics port must not take the proxy down: warn and serve on without the
      // listener (the in-process counters keep counting; fix metrics.port and restart).
      const where = `${opts.metrics.host}:${opts.metrics.port}`;
      metricsServer = await startMetricsServer(metrics, {
        host: opts.metrics.host,
        port: opts.metrics.port,
        path: opts.metrics.path,
      }).catch((err: NodeJS.ErrnoException) => {
        const why = err.code === "EADDRINUSE" ? "port already in use (set metrics.port)" : err.message;
        const warning = `metrics listener ${where} not started: ${why}; serving without /metrics`;
        if (opts.logger) opts.logger.warn({ code: err.code, listener: where }, warning);
        else process.emitWarning(warning);
        return undefined;
      });
      closers.push(() => metricsServer?.close());
    }

    let ledger: AuditLedger | undefined;
    let audit: Stage | undefined;
    if (opts.audit?.enabled) {
      const cfg = opts.audit;
      const path = at(opts.configDir, cfg.path);
      ledger = await AuditLedger.open({
        path,
        durability: cfg.durability,
        rotateBytes: cfg.rotateBytes,
        onCommit: (records) => {
          if (!metrics) return;
          // One counter update per event kind and batch, not per record.
          const byEvent = new Map<string, number>();
          for (const r of records) byEvent.set(r.event, (byEvent.get(r.event) ?? 0) + 1);
          for (const [event, n] of byEvent)
            metrics.auditRecords.inc({ event: metrics.labels.limit("event", event) }, n);
        },
        onError: (err) => {
          metrics?.auditWriteFailures.inc();
          opts.logger?.error({ err: err.message }, "audit ledger write failed: governed calls now fail");
        },
      });
      closers.push(() => ledger?.close());
      audit = auditStage(ledger, {
        argsKey: await auditKey(cfg, path),
        rawArguments: cfg.rawArgumentsIn.includes(opts.environment),
      });
    }

    let engine: PolicyEngine | undefined;
    let policy: Stage | undefined;
    if (opts.policy && opts.policy.mode !== undefined) {
      const cfg = opts.policy;
      const l = ledger;
      engine = new PolicyEngine({
        backend: opts.backend ?? backendFor(cfg, opts.configDir),
        mode: cfg.mode,
        canary: cfg.canary,
        failureMode: cfg.failureMode,
        timeoutMs: cfg.timeoutMs,
        cache: cfg.cache,
        timeGranularityMs: cfg.timeGranularityMs,
        killSwitch: cfg.killSwitch,
        warmup: cfg.warmup,
        metrics,
        audit: l ? (entry) => l.append(entry) : undefined,
        logger: opts.logger,
      });
      closers.push(() => engine?.close());
      await engine.start();
      if (cfg.watch) engine.watchFiles();
      if (opts.signals !== false) engine.handleSignals();
      policy = policyStage(engine, {
        separator: opts.separator,
        toolMeta: opts.toolMeta,
        filterTools: cfg.filterTools,
      });
    }
    const mstage = metrics ? metricsStage(metrics) : undefined;
    const stages = [audit, mstage, policy].filter((s): s is Stage => !!s);
    return {
      engine,
      ledger,
      metrics,
      metricsServer,
      stages,
      auditStage: audit,
      metricsStage: mstage,
      policyStage: policy,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
