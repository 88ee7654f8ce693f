// Where tool events (poisoned definition, rug pull, shadowing, first pin) go: a warning in the
// log, a record in the audit ledger and a count in the metrics, each distinct event once per
// process (tools/list repeats on every session; a pending rug pull would otherwise flood the
// ledger with the same record).
import { Counter, type Registry } from "prom-client";
import type { AuditEntry } from "../audit/record.js";
import type { ToolEvent } from "./stage.js";

export interface ToolEventTargets {
  /** Ledger (or any sink with its append); absent when audit is off. */
  audit?: { append(entry: AuditEntry): Promise<unknown> };
  /** Metrics registry and its label limiter; absent when metrics are off. */
  metrics?: { registry: Registry; labels: { limit(label: string, value: string): string } };
  log?: (level: "warn" | "error", message: string) => void;
}

/** Distinct events remembered for de-duplication before the memory is reset. */
const MAX_REMEMBERED = 10_000;

// One counter per registry: a registry refuses a second metric of the same name.
const counters = new WeakMap<Registry, Counter<"type" | "action" | "server">>();
function counterOn(registry: Registry): Counter<"type" | "action" | "server"> {
  let c = counters.get(registry);
  if (!c) {
    c = new Counter({
      name: "scan_tool_events_total",
      help: "Tool events of the scanner: tool_pinned, tool_changed (rug pull), tool_poisoned, tool_shadowing; action hidden or reported.",
      labelNames: ["type", "action", "server"],
      registers: [registry],
    });
    counters.set(registry, c);
  }
  return c;
}

/** The audit record of one tool event. */
export function toolEventEntry(e: ToolEvent): AuditEntry {
  const detail: Record<string, unknown> = { environment: e.environment };
  if (e.detail) detail.detail = e.detail;
  if (e.hash) detail.definitionHash = e.hash;
  if (e.finding)
    detail.finding = { kind: e.finding.kind, score: e.finding.score, evidence: e.finding.evidence };
  return {
    event: `scan.${e.type}`,
    server: e.server,
    tool: e.tool,
    decision: e.action,
    outcome: e.action,
    detail,
  };
}

export function toolEventSink(targets: ToolEventTargets): (e: ToolEvent) => void {
  const seen = new Set<string>();
  const counter = targets.metrics ? counterOn(targets.metrics.registry) : undefined;
  return (e) => {
    const key = [e.type, e.environment, e.server, e.tool, e.action, e.hash ?? "", e.detail ?? ""].join(
      "\u0000",
    );
    if (seen.has(key)) return;
    if (seen.size >= MAX_REMEMBERED) seen.clear();
    seen.add(key);
    if (e.type !== "tool_pinned")
      targets.log?.(
        "warn",
        `scan: ${e.type} ${e.server}/${e.tool} (${e.action})${e.detail ? `: ${e.detail}` : ""}`,
      );
    counter?.inc({
      type: e.type,
      action: e.action,
      server: targets.metrics?.labels.limit("server", e.server) ?? e.server,
    });
    // tools/list does not wait for the ledger; a failed write is counted and logged by the ledger.
    targets.audit?.append(toolEventEntry(e)).catch((err: Error) => {
      targets.log?.("error", `scan: audit of ${e.type} ${e.server}/${e.tool} failed: ${err.message}`);
    });
  };
}
