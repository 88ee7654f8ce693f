// Prometheus figures for code tools: runs by runtime and status (timeouts, OOMs, traps,
// output caps are counted apart), and run duration. Registered on a registry the caller owns.
import { Counter, Histogram, type Registry } from "prom-client";
import type { SandboxOutcome } from "./result.js";

export type SandboxRuntime = "javascript" | "python" | "wasm";
export type OutcomeHook = (tool: string, runtime: SandboxRuntime, outcome: SandboxOutcome) => void;

/** Returns an `onOutcome` hook for createSandboxProvider that counts every run on `registry`. */
export function sandboxMetrics(registry: Registry, prefix = ""): OutcomeHook {
  const runs = new Counter({
    name: `${prefix}sandbox_runs_total`,
    help: "Code tool runs by runtime and status (ok, exit_nonzero, error, timeout, out_of_memory, output_limit, trap).",
    labelNames: ["runtime", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}sandbox_run_duration_seconds`,
    help: "Wall time of code tool runs, including waiting for a ready worker or child.",
    labelNames: ["runtime"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (_tool, runtime, outcome) => {
    runs.inc({ runtime, status: outcome.status });
    duration.observe({ runtime }, outcome.usage.wallMs / 1000);
  };
}
