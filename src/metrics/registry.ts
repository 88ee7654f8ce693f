// The Prometheus figures of the governance pipeline, on a registry of their own so tests and
// several warden instances in one process never share counters.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { busyPollSeconds } from "../upstream/busy-poll.js";
import { LabelLimiter } from "./label-limiter.js";

export interface WardenMetricsOptions {
  /** Distinct values allowed per label before folding into "other" (default 100). */
  maxLabelValues?: number;
  /** Collect Node process metrics (default true). */
  processMetrics?: boolean;
  prefix?: string;
}

type CounterChild = ReturnType<Counter<string>["labels"]>;
type HistogramChild = ReturnType<Histogram<string>["labels"]>;

const EVAL_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1];
const CALL_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class WardenMetrics {
  readonly registry = new Registry();
  readonly labels: LabelLimiter;
  readonly policyEvaluations: Counter<"backend">;
  readonly policyEvaluationDuration: Histogram<"backend">;
  readonly policyDecisions: Counter<"decision" | "mode">;
  readonly policyCacheHits: Counter;
  readonly policyCacheMisses: Counter;
  readonly policyDenyReasons: Counter<"reason">;
  readonly policyVersion: Gauge<"version" | "backend">;
  readonly policyReloads: Counter;
  readonly policyReloadFailures: Counter;
  readonly policyFallbacks: Counter<"kind" | "failure_mode">;
  readonly policyErrors: Counter<"kind">;
  readonly killSwitch: Gauge;
  readonly killSwitchChanges: Counter<"source">;
  readonly policyAdminRequests: Counter<"action" | "outcome">;
  readonly toolCalls: Counter<"server" | "tool" | "outcome">;
  readonly toolCallDuration: Histogram<"server" | "tool">;
  readonly upstreamUp: Gauge<"server">;
  readonly busyPoll: Counter;
  readonly auditRecords: Counter<"event">;
  readonly auditWriteFailures: Counter;
  private currentVersion?: { version: string; backend: string };
  // Labelled children, cached: prom-client hashes the label object on every inc/observe otherwise.
  private readonly toolCallChildren = new Map<string, { calls: CounterChild; duration: HistogramChild }>();
  private readonly decisionChildren = new Map<string, CounterChild>();
  private readonly evaluationChildren = new Map<string, { count: CounterChild; duration: HistogramChild }>();
  private readonly maxCachedChildren: number;

  constructor(opts: WardenMetricsOptions = {}) {
    const p = opts.prefix ?? "";
    const registers = [this.registry];
    this.labels = new LabelLimiter(opts.maxLabelValues ?? 100);
    this.maxCachedChildren = 4 * (opts.maxLabelValues ?? 100);
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: p });
    this.policyEvaluations = new Counter({
      name: `${p}policy_evaluations_total`,
      help: "Policy evaluations run by a backend (cache hits excluded).",
      labelNames: ["backend"],
      registers,
    });
    this.policyEvaluationDuration = new Histogram({
      name: `${p}policy_evaluation_duration_seconds`,
      help: "Time spent in the policy backend per evaluation.",
      labelNames: ["backend"],
      buckets: EVAL_BUCKETS,
      registers,
    });
    this.policyDecisions = new Counter({
      name: `${p}policy_decisions_total`,
      help: "Policy decisions by outcome (allow, deny, would_deny, approval, error) and effective mode.",
      labelNames: ["decision", "mode"],
      registers,
    });
    this.policyCacheHits = new Counter({
      name: `${p}policy_cache_hits_total`,
      help: "Decisions answered from the decision cache.",
      registers,
    });
    this.policyCacheMisses = new Counter({
      name: `${p}policy_cache_misses_total`,
      help: "Decisions that needed a backend evaluation.",
      registers,
    });
    this.policyDenyReasons = new Counter({
      name: `${p}policy_deny_reasons_total`,
      help: "Deny reasons returned by policy (bounded cardinality; extra values fold into 'other').",
      labelNames: ["reason"],
      registers,
    });
    this.policyVersion = new Gauge({
      name: `${p}policy_version`,
      help: "Active policy version (value 1 on the active version's label set).",
      labelNames: ["version", "backend"],
      registers,
    });
    this.policyReloads = new Counter({
      name: `${p}policy_reloads_total`,
      help: "Successful policy reloads.",
      registers,
    });
    this.policyReloadFailures = new Counter({
      name: `${p}policy_reload_failures_total`,
      help: "Policy reloads rejected (the last good policy stayed active).",
      registers,
    });
    this.policyFallbacks = new Counter({
      name: `${p}policy_fallbacks_total`,
      help: "Decisions taken by the failure mode because the engine failed or timed out.",
      labelNames: ["kind", "failure_mode"],
      registers,
    });
    this.policyErrors = new Counter({
      name: `${p}policy_errors_total`,
      help: "Policy engine errors by kind (error, timeout, conflict, invalid).",
      labelNames: ["kind"],
      registers,
    });
    this.killSwitch = new Gauge({
      name: `${p}policy_kill_switch`,
      help: "1 while the emergency kill switch forces dry-run, else 0.",
      registers,
    });
    this.killSwitchChanges = new Counter({
      name: `${p}policy_kill_switch_changes_total`,
      help: "Kill switch flips by source (admin_api, SIGUSR2, ...).",
      labelNames: ["source"],
      registers,
    });
    this.policyAdminRequests = new Counter({
      name: `${p}policy_admin_requests_total`,
      help: "Requests to the policy admin API by action (read, set) and outcome (ok, unauthorized, forbidden, invalid_request, ...).",
      labelNames: ["action", "outcome"],
      registers,
    });
    this.toolCalls = new Counter({
      name: `${p}tool_calls_total`,
      help: "Calls through warden by server, tool and outcome (ok, error, denied, refused).",
      labelNames: ["server", "tool", "outcome"],
      registers,
    });
    this.toolCallDuration = new Histogram({
      name: `${p}tool_call_duration_seconds`,
      help: "End-to-end duration of calls through warden.",
      labelNames: ["server", "tool"],
      buckets: CALL_BUCKETS,
      registers,
    });
    this.upstreamUp = new Gauge({
      name: `${p}upstream_up`,
      help: "1 when the downstream server is connected, else 0.",
      labelNames: ["server"],
      registers,
    });
    // Read at scrape time from the process-wide spin (src/upstream/busy-poll.ts).
    let busyPollCounted = 0;
    this.busyPoll = new Counter({
      name: `${p}busy_poll_seconds_total`,
      help: "Time the event loop was kept turning instead of sleeping (busyPollMicros): CPU traded for latency.",
      registers,
      collect() {
        const now = busyPollSeconds();
        if (now > busyPollCounted) this.inc(now - busyPollCounted);
        busyPollCounted = now;
      },
    });
    this.auditRecords = new Counter({
      name: `${p}audit_records_total`,
      help: "Audit records committed to the ledger by event.",
      labelNames: ["event"],
      registers,
    });
    this.auditWriteFailures = new Counter({
      name: `${p}audit_write_failures_total`,
      help: "Audit records that could not be committed.",
      registers,
    });
    this.killSwitch.set(0);
  }

  setPolicyVersion(version: string, backend: string): void {
    if (this.currentVersion) this.policyVersion.remove(this.currentVersion);
    this.currentVersion = { version, backend };
    this.policyVersion.set(this.currentVersion, 1);
  }

  recordDenyReasons(reasons: readonly string[]): void {
    for (const r of reasons) this.policyDenyReasons.inc({ reason: this.labels.limit("reason", r) });
  }

  recordToolCall(
    server: string | undefined,
    tool: string | undefined,
    outcome: string,
    seconds: number,
  ): void {
    const key = `${server}\0${tool}\0${outcome}`;
    let child = this.toolCallChildren.get(key);
    if (!child) {
      const s = this.labels.limit("server", server);
      const t = this.labels.limit("tool", tool);
      child = { calls: this.toolCalls.labels(s, t, outcome), duration: this.toolCallDuration.labels(s, t) };
      // Raw names are unbounded (a client may invent tool names); only a bounded set is kept.
      if (this.toolCallChildren.size < this.maxCachedChildren) this.toolCallChildren.set(key, child);
    }
    child.calls.inc();
    child.duration.observe(seconds);
  }

  /** One policy decision by outcome and effective mode (both from small fixed sets). */
  recordDecision(decision: string, mode: string): void {
    const key = `${decision}\0${mode}`;
    let child = this.decisionChildren.get(key);
    if (!child) {
      child = this.policyDecisions.labels(decision, mode);
      this.decisionChildren.set(key, child);
    }
    child.inc();
  }

  /** One request to the policy admin API (action and outcome come from small fixed sets). */
  recordAdminRequest(action: string, outcome: string): void {
    this.policyAdminRequests.inc({ action, outcome });
  }

  /** One backend evaluation and its duration. */
  recordEvaluation(backend: string, seconds: number): void {
    let child = this.evaluationChildren.get(backend);
    if (!child) {
      child = {
        count: this.policyEvaluations.labels(backend),
        duration: this.policyEvaluationDuration.labels(backend),
      };
      this.evaluationChildren.set(backend, child);
    }
    child.count.inc();
    child.duration.observe(seconds);
  }

  /** Reads upstream state at scrape time (e.g. `() => warden.status()`); replaces setUpstreamUp calls. */
  observeUpstreams(source: () => ReadonlyArray<{ name: string; state: string }>): void {
    const gauge = this.upstreamUp as unknown as { collect?: () => void };
    gauge.collect = () => {
      for (const s of source()) this.setUpstreamUp(s.name, s.state === "ready");
    };
  }

  setUpstreamUp(server: string, up: boolean): void {
    this.upstreamUp.set({ server: this.labels.limit("server", server) }, up ? 1 : 0);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
