// The limits stage reports through this callback; the metrics area maps it onto prom-client
// counters (names below), so this module does not own a registry.
export interface CounterSink {
  inc(name: string, labels: Record<string, string>): void;
}

export const LIMIT_METRICS = {
  /** Calls refused by a rate limit; label `scope` = global|tenant|subject|tool|obligation. */
  rejected: "rate_limit_rejections_total",
  /** Calls refused because the session budget was spent. */
  budgetExhausted: "session_budget_exhausted_total",
  /** Calls that passed the limits stage. */
  allowed: "rate_limit_allowed_total",
} as const;

export const LIMIT_METRIC_HELP: Record<string, { help: string; labels: string[] }> = {
  [LIMIT_METRICS.rejected]: { help: "Calls refused by a rate limit", labels: ["scope"] },
  [LIMIT_METRICS.budgetExhausted]: {
    help: "Calls refused because the session call budget was spent",
    labels: [],
  },
  [LIMIT_METRICS.allowed]: { help: "Calls that passed the rate limits", labels: [] },
};

/** Registers the limits counters on a prom-client registry and returns the sink feeding them. */
export async function promCounterSink(registry: import("prom-client").Registry): Promise<CounterSink> {
  const { Counter } = await import("prom-client");
  const counters = new Map<string, import("prom-client").Counter<string>>();
  for (const [name, meta] of Object.entries(LIMIT_METRIC_HELP)) {
    counters.set(
      name,
      new Counter({ name, help: meta.help, labelNames: meta.labels, registers: [registry] }),
    );
  }
  return {
    inc(name, labels) {
      counters.get(name)?.inc(labels);
    },
  };
}
