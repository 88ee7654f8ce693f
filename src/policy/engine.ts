// PolicyEngine: asks the active backend for a decision and applies modes, canary, kill switch,
// failure mode, decision cache, versioning and hot reload around it.
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { LRUCache } from "lru-cache";
import type { AuditEntry, AuditSubject } from "../audit/record.js";
import type { WardenMetrics } from "../metrics/registry.js";
import type { CallContext, Decision } from "../pipeline/types.js";
import type { LoadedPolicy, PolicyBackend } from "./backend.js";
import { type CacheKeyFn, cacheKeyFor } from "./cache-key.js";
import { PolicyDecisionError, parseDecisionDocument, unwrapResultSet } from "./decision.js";
import { buildDecisionInput, type DecisionInput } from "./input.js";
import { type CanaryConfig, type EffectiveMode, effectiveMode, type PolicyMode } from "./modes.js";

export type FailureMode = "closed" | "open";
export type FallbackKind = "error" | "timeout" | "conflict" | "invalid" | "unavailable";
export type PolicyOutcome = "allow" | "deny" | "would_deny" | "approval_required" | "off";

export interface PolicyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PolicyEngineOptions {
  backend: PolicyBackend;
  /** Default "enforce". */
  mode?: PolicyMode;
  canary?: CanaryConfig;
  /** What an engine error or timeout yields: "closed" (deny, default) or "open" (allow). */
  failureMode?: FailureMode;
  /** Per-evaluation timeout in ms (default 500). Synchronous backends cannot be interrupted mid-run. */
  timeoutMs?: number;
  /** Decision cache (default on: 1000 entries, 5 s TTL). */
  cache?: { enabled?: boolean; max?: number; ttlMs?: number };
  /** Time in the input is truncated to this granularity (default 60000 ms). */
  timeGranularityMs?: number;
  /** Start with the kill switch on. */
  killSwitch?: boolean;
  metrics?: WardenMetrics;
  /** Receives policy events (reload, reload failure, kill switch) for the audit ledger. */
  audit?: (entry: AuditEntry) => unknown;
  logger?: PolicyLogger;
  /** Debounce for file-change reloads (default 150 ms). */
  reloadDebounceMs?: number;
  /**
   * Background warm-up evaluations after each load of a synchronous backend (default 0). A fresh
   * compile is cold: its first few hundred evaluations run 5-10x slower until V8 optimizes them.
   */
  warmup?: number;
}

export interface PolicyFallback {
  kind: FallbackKind;
  failureMode: FailureMode;
  message: string;
}

export interface PolicyEvaluation {
  /** What the pipeline acts on (in dry-run: always allow). */
  decision: Decision;
  /** What the policy (or the failure mode) said before the mode was applied. */
  policyDecision?: Decision;
  outcome: PolicyOutcome;
  mode: PolicyMode;
  effectiveMode: EffectiveMode;
  policyVersion: string;
  cached: boolean;
  durationMs: number;
  fallback?: PolicyFallback;
}

export interface PolicyStatus {
  backend: string;
  version: string;
  mode: PolicyMode;
  killSwitch: boolean;
  failureMode: FailureMode;
  lastReloadAt?: string;
  lastReloadError?: { at: string; message: string };
}

class PolicyTimeoutError extends Error {
  override name = "PolicyTimeoutError";
}

const NO_POLICY = "none";
/** Handed to synchronous backends, which ignore it (creating an AbortController per call is costly). */
const NEVER_ABORTED = new AbortController().signal;
/** Warm-up evaluations per event-loop turn: short slices, so real calls are never held up long. */
const WARMUP_SLICE = 25;

/** A plausible tools/call input (the shape real calls have), for warm-up evaluations only. */
function warmupInput(i: number, granularity: number): DecisionInput {
  return buildDecisionInput(
    {
      requestId: i,
      transport: "stdio",
      environment: "warden-warmup",
      method: "tools/call",
      subject: { user: "warden-warmup", tenant: "warden-warmup", roles: [], scopes: [], authMethod: "stdio" },
      session: { id: `warmup-${i}`, callCount: i % 100, toolsCalled: [], flags: {} },
      client: { capabilities: {}, clientInfo: { name: "warden-warmup", version: "0" } },
      server: "warmup",
      tool: "warmup_tool",
      exposedName: "warmup__warmup_tool",
      toolMeta: { risk: "low", labels: [], requiresApproval: false },
      params: { name: "warmup__warmup_tool", arguments: { path: `/warmup/${i % 7}`, n: i } },
      findings: [],
      annotations: {},
      startedAt: 0n,
      signal: NEVER_ABORTED,
    },
    { timeGranularityMs: granularity },
  );
}

export class PolicyEngine {
  private active?: LoadedPolicy;
  /** Decision-cache key of the active policy (covers exactly the input it can read). */
  private activeKey?: CacheKeyFn;
  /** Whether the active policy may read input.session.tools_called. */
  private readsToolsCalled = true;
  private readonly cache?: LRUCache<string, Decision>;
  private killSwitchOn: boolean;
  private lastReloadAt?: string;
  private lastReloadError?: { at: string; message: string };
  private reloading: Promise<boolean> = Promise.resolve(true);
  private watchers: FSWatcher[] = [];
  private reloadTimer?: NodeJS.Timeout;
  private signalCleanup?: () => void;
  private closed = false;
  private warmupTimer?: NodeJS.Immediate;
  readonly mode: PolicyMode;
  readonly failureMode: FailureMode;
  private readonly timeoutMs: number;
  private readonly granularity: number;

  constructor(private readonly opts: PolicyEngineOptions) {
    this.mode = opts.mode ?? "enforce";
    this.failureMode = opts.failureMode ?? "closed";
    this.timeoutMs = opts.timeoutMs ?? 500;
    this.granularity = opts.timeGranularityMs ?? 60_000;
    this.killSwitchOn = opts.killSwitch ?? false;
    if (this.mode === "canary" && !opts.canary)
      throw new Error("policy mode 'canary' needs a canary configuration");
    if (opts.canary && !(opts.canary.percent >= 0 && opts.canary.percent <= 100))
      throw new Error("canary.percent must be between 0 and 100");
    const c = opts.cache ?? {};
    if (c.enabled !== false) this.cache = new LRUCache({ max: c.max ?? 1_000, ttl: c.ttlMs ?? 5_000 });
    opts.metrics?.killSwitch.set(this.killSwitchOn ? 1 : 0);
  }

  get backendKind(): string {
    return this.opts.backend.kind;
  }

  get version(): string {
    return this.active?.version ?? NO_POLICY;
  }

  get killSwitch(): boolean {
    return this.killSwitchOn;
  }

  status(): PolicyStatus {
    return {
      backend: this.opts.backend.kind,
      version: this.version,
      mode: this.mode,
      killSwitch: this.killSwitchOn,
      failureMode: this.failureMode,
      lastReloadAt: this.lastReloadAt,
      lastReloadError: this.lastReloadError,
    };
  }

  /** Loads the policy; throws when it cannot (a broken policy at startup is a startup error). */
  async start(): Promise<void> {
    const ok = await this.reload("start");
    if (!ok) throw new Error(`policy failed to load: ${this.lastReloadError?.message}`);
  }

  /**
   * Loads the policy again. A broken policy is rejected: the last good one stays active and the
   * failure is logged, counted (policy_reload_failures_total) and audited. Returns success.
   */
  reload(trigger = "manual"): Promise<boolean> {
    this.reloading = this.reloading.then(() => this.doReload(trigger));
    return this.reloading;
  }

  private async doReload(trigger: string): Promise<boolean> {
    const previous = this.active;
    try {
      const next = await this.opts.backend.load();
      this.active = next;
      this.activeKey = cacheKeyFor(next.version, next.inputPaths);
      this.readsToolsCalled =
        next.inputPaths === undefined ||
        next.inputPaths.some((p) => p[0] === "session" && (p.length === 1 || p[1] === "tools_called"));
      this.cache?.clear();
      this.lastReloadAt = new Date().toISOString();
      this.lastReloadError = undefined;
      this.opts.metrics?.setPolicyVersion(next.version, this.opts.backend.kind);
      if (previous) this.opts.metrics?.policyReloads.inc();
      this.opts.logger?.info(
        { version: next.version, previous: previous?.version, trigger },
        "policy loaded",
      );
      void this.audit({
        event: "policy",
        decision: "loaded",
        policyVersion: next.version,
        detail: { trigger, previousVersion: previous?.version, backend: this.opts.backend.kind },
      });
      if (previous && previous !== next) await previous.close?.();
      this.warm(next);
      return true;
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      this.lastReloadError = { at: new Date().toISOString(), message };
      this.opts.metrics?.policyReloadFailures.inc();
      this.opts.logger?.error(
        { err: message, trigger, keptVersion: previous?.version },
        "policy reload rejected; last good policy stays active",
      );
      void this.audit({
        event: "policy",
        decision: "reload_failed",
        policyVersion: previous?.version ?? NO_POLICY,
        reasons: [message],
        detail: { trigger },
      });
      return false;
    }
  }

  private async audit(entry: AuditEntry): Promise<void> {
    try {
      await this.opts.audit?.(entry);
    } catch (err) {
      this.opts.logger?.error({ err: (err as Error).message }, "audit of a policy event failed");
    }
  }

  /**
   * Emergency kill switch: forces dry-run for every call while on. The state, gauge and log
   * change at once; the returned promise resolves when the audit record is written. A request
   * that names who asked (`by`, the admin API) is audited even when it changes nothing.
   */
  async setKillSwitch(
    on: boolean,
    source = "admin",
    by?: { subject?: AuditSubject; reason?: string },
  ): Promise<boolean> {
    const changed = on !== this.killSwitchOn;
    if (!changed && !by) return false;
    if (changed) {
      this.killSwitchOn = on;
      this.opts.metrics?.killSwitch.set(on ? 1 : 0);
      this.opts.metrics?.killSwitchChanges.inc({ source: this.opts.metrics.labels.limit("source", source) });
      this.opts.logger?.warn(
        { killSwitch: on, source, user: by?.subject?.user, reason: by?.reason },
        on ? "policy kill switch ON: dry-run forced" : "policy kill switch off",
      );
    }
    await this.audit({
      event: "policy",
      decision: on ? "kill_switch_on" : "kill_switch_off",
      subject: by?.subject,
      policyVersion: this.version,
      reasons: by?.reason ? [by.reason] : undefined,
      detail: { source, changed },
    });
    return changed;
  }

  /** Reload on changes below the backend's watch paths (debounced). */
  watchFiles(): void {
    const paths = this.opts.backend.watchPaths?.() ?? [];
    for (const p of paths) {
      // Watch the directory holding a file too: editors replace files by rename.
      const dir =
        p.endsWith(".rego") ||
        p.endsWith(".json") ||
        p.endsWith(".yaml") ||
        p.endsWith(".wasm") ||
        p.endsWith(".gz")
          ? dirname(p)
          : p;
      const only = dir === p ? undefined : basename(p);
      try {
        // Folders are watched recursively: policies usually live in sub-packages (policies/warden/...).
        const w = watch(dir, { persistent: false, recursive: only === undefined }, (_event, file) => {
          if (only && file && file !== only) return;
          clearTimeout(this.reloadTimer);
          this.reloadTimer = setTimeout(
            () => void this.reload("file change"),
            this.opts.reloadDebounceMs ?? 150,
          );
        });
        w.on("error", (err) =>
          this.opts.logger?.warn({ err: err.message, path: dir }, "policy watcher failed"),
        );
        this.watchers.push(w);
      } catch (err) {
        this.opts.logger?.warn({ err: (err as Error).message, path: dir }, "cannot watch policy path");
      }
    }
  }

  /** SIGHUP reloads the policy; SIGUSR2 toggles the kill switch. Returns a function that removes the handlers. */
  handleSignals(signals: { reload?: NodeJS.Signals; killSwitch?: NodeJS.Signals } = {}): () => void {
    const reloadSig = signals.reload ?? "SIGHUP";
    const killSig = signals.killSwitch ?? "SIGUSR2";
    const onReload = () => void this.reload(reloadSig);
    const onKill = () => void this.setKillSwitch(!this.killSwitchOn, killSig);
    process.on(reloadSig, onReload);
    process.on(killSig, onKill);
    this.signalCleanup = () => {
      process.off(reloadSig, onReload);
      process.off(killSig, onKill);
    };
    return this.signalCleanup;
  }

  /**
   * Runs `warmup` evaluations of a synthetic input against a just-loaded synchronous policy, a
   * slice per event-loop turn, results discarded (no cache, metrics or audit). Stops when
   * another policy becomes active or the engine closes.
   */
  private warm(policy: LoadedPolicy): void {
    const total = this.opts.warmup ?? 0;
    if (total <= 0 || !policy.synchronous || this.closed) return;
    if (this.warmupTimer) clearImmediate(this.warmupTimer);
    let done = 0;
    const slice = () => {
      this.warmupTimer = undefined;
      if (this.closed || this.active !== policy) return;
      const end = Math.min(total, done + WARMUP_SLICE);
      try {
        for (; done < end; done++) policy.evaluate(warmupInput(done, this.granularity), NEVER_ABORTED);
      } catch {
        return; // a policy that throws on the synthetic input: real calls report their own errors
      }
      if (done < total) this.warmupTimer = setImmediate(slice);
    };
    this.warmupTimer = setImmediate(slice);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.warmupTimer) clearImmediate(this.warmupTimer);
    clearTimeout(this.reloadTimer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    this.signalCleanup?.();
    await this.reloading;
    await this.active?.close?.();
  }

  /** Effective mode for a caller (mode, canary and kill switch combined). */
  modeFor(tenant: string, user: string, agent: string | null): EffectiveMode {
    return effectiveMode(this.mode, this.killSwitchOn, this.opts.canary, { tenant, user, agent });
  }

  buildInput(ctx: CallContext): DecisionInput {
    return buildDecisionInput(ctx, this.inputOptions());
  }

  /** Options for building inputs for the active policy (skips fields it provably never reads). */
  inputOptions(): { timeGranularityMs: number; toolsCalled: boolean } {
    return { timeGranularityMs: this.granularity, toolsCalled: this.readsToolsCalled };
  }

  get timeGranularityMs(): number {
    return this.granularity;
  }

  evaluate(ctx: CallContext): Promise<PolicyEvaluation> {
    const eff = this.modeFor(ctx.subject.tenant, ctx.subject.user, ctx.client.clientInfo?.name ?? null);
    if (eff === "off") return Promise.resolve(this.offResult());
    // ctx.signal creates its AbortController on first read: synchronous backends never need it.
    return this.evaluateInput(this.buildInput(ctx), eff, this.active?.synchronous ? undefined : ctx.signal);
  }

  private offResult(): PolicyEvaluation {
    return {
      decision: {
        allow: true,
        reasons: [],
        requireApproval: false,
        obligations: [],
        auditTags: [],
        effectiveMode: "off",
        policyVersion: this.version,
      },
      outcome: "off",
      mode: this.mode,
      effectiveMode: "off",
      policyVersion: this.version,
      cached: false,
      durationMs: 0,
    };
  }

  /** Decides one input under an already-resolved effective mode. */
  async evaluateInput(
    input: DecisionInput,
    eff: EffectiveMode,
    signal?: AbortSignal,
  ): Promise<PolicyEvaluation> {
    if (eff === "off") return this.offResult();
    const t0 = performance.now();
    const m = this.opts.metrics;
    const active = this.active;
    const version = active?.version ?? NO_POLICY;
    let policyDecision: Decision | undefined;
    let fallback: PolicyFallback | undefined;
    let cached = false;
    if (!active) {
      fallback = { kind: "unavailable", failureMode: this.failureMode, message: "no policy is loaded" };
    } else {
      // The key covers the version and every input path the policy can read (cache-key.ts).
      const key = this.cache && this.activeKey ? this.activeKey(input) : undefined;
      const hit = key !== undefined ? this.cache?.get(key) : undefined;
      if (hit) {
        cached = true;
        policyDecision = hit;
        m?.policyCacheHits.inc();
      } else {
        if (this.cache) m?.policyCacheMisses.inc();
        const e0 = performance.now();
        try {
          const raw = await this.runBackend(active, input, signal);
          policyDecision = parseDecisionDocument(unwrapResultSet(raw));
          if (key !== undefined) this.cache?.set(key, policyDecision);
        } catch (err) {
          fallback = {
            kind:
              err instanceof PolicyTimeoutError
                ? "timeout"
                : err instanceof PolicyDecisionError
                  ? err.kind
                  : "error",
            failureMode: this.failureMode,
            message: (err as Error)?.message ?? String(err),
          };
        }
        m?.recordEvaluation(this.opts.backend.kind, (performance.now() - e0) / 1000);
      }
    }
    if (fallback) {
      m?.policyErrors.inc({ kind: fallback.kind });
      m?.policyFallbacks.inc({ kind: fallback.kind, failure_mode: fallback.failureMode });
      const reason = `policy ${fallback.kind}: ${fallback.message} (fail-${fallback.failureMode})`;
      policyDecision = {
        allow: fallback.failureMode === "open",
        reasons: [reason],
        requireApproval: false,
        obligations: [],
        auditTags: [`fail_${fallback.failureMode}`],
      };
    }
    const pd = policyDecision as Decision;
    let decision: Decision;
    let outcome: PolicyOutcome;
    if (eff === "enforce") {
      decision = { ...pd, effectiveMode: eff, policyVersion: version };
      outcome = pd.allow ? (pd.requireApproval ? "approval_required" : "allow") : "deny";
    } else {
      // dry-run: nothing is enforced; what would have happened is kept in reasons and tags.
      const tags = [...pd.auditTags];
      if (!pd.allow) tags.push("would_deny");
      if (pd.requireApproval) tags.push("would_require_approval");
      decision = {
        allow: true,
        reasons: pd.reasons,
        requireApproval: false,
        obligations: [],
        auditTags: tags,
        effectiveMode: eff,
        policyVersion: version,
      };
      outcome = pd.allow ? "allow" : "would_deny";
    }
    m?.recordDecision(fallback ? `error_${outcome}` : outcome, eff);
    if (!pd.allow) m?.recordDenyReasons(pd.reasons);
    return {
      decision,
      policyDecision: pd,
      outcome,
      mode: this.mode,
      effectiveMode: eff,
      policyVersion: version,
      cached,
      durationMs: performance.now() - t0,
      fallback,
    };
  }

  private runBackend(
    active: LoadedPolicy,
    input: DecisionInput,
    signal?: AbortSignal,
  ): unknown | Promise<unknown> {
    if (active.synchronous) return active.evaluate(input, signal ?? NEVER_ABORTED);
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    let result: unknown;
    try {
      result = active.evaluate(input, ac.signal);
    } catch (err) {
      signal?.removeEventListener("abort", onAbort);
      throw err;
    }
    if (!(result instanceof Promise)) {
      signal?.removeEventListener("abort", onAbort);
      return result;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new PolicyTimeoutError(`policy evaluation exceeded ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    return Promise.race([result, timeout]).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
  }
}
