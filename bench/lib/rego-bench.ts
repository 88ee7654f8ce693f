// Helpers for Rego engine benchmarks: decisions/s (median of rounds) and per-decision p50/p99.
// Other benches (builtin-heavy cases) reuse runCase().
import { compilePolicy, type PolicyOptions, type Value } from "../../src/rego/index.js";
import { percentile } from "./stats.js";

export interface RegoBenchOptions {
  data?: unknown;
  /** measured rounds for throughput (median reported) */
  rounds?: number;
  /** duration of one throughput round */
  roundMs?: number;
  /** single-decision latency samples */
  samples?: number;
  /** check the decision for each input once before measuring */
  expect?: (value: unknown, input: unknown) => void;
}

export interface RegoBenchResult {
  name: string;
  /** wall clock, median of rounds */
  decisionsPerSec: number;
  /** per CPU-second of this process (process.cpuUsage), median of rounds: robust to other load */
  decisionsPerCpuSec: number;
  roundsPerSec: number[];
  p50us: number;
  p99us: number;
}

type Evaluator = (input: unknown) => unknown;

function evaluator(modules: PolicyOptions["modules"], query: string, data: unknown): Evaluator {
  const policy = compilePolicy({ modules, data });
  if (/^data(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(query)) {
    const rule = policy.prepareRule(query);
    return (input) => rule.eval(input);
  }
  const q = policy.prepareQuery(query);
  return (input) => {
    const r = q.eval({ input });
    if (r.error) throw r.error;
    return r.results as unknown as Value;
  };
}

/** Measure any decision function the same way (used for baselines in the same run). */
export function measure(
  name: string,
  fn: Evaluator,
  inputs: unknown[],
  opts: RegoBenchOptions = {},
): RegoBenchResult {
  const rounds = opts.rounds ?? 5;
  const roundMs = opts.roundMs ?? 400;
  const samples = opts.samples ?? 20_000;
  const n = inputs.length;
  let sink = 0;
  // warm up (JIT)
  for (let i = 0; i < 30_000; i++) if (fn(inputs[i % n]) !== undefined) sink++;
  const roundsPerSec: number[] = [];
  const roundsPerCpuSec: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let count = 0;
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(roundMs) * 1_000_000n;
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 1000; i++) if (fn(inputs[(count + i) % n]) !== undefined) sink++;
      count += 1000;
      now = process.hrtime.bigint();
    }
    roundsPerSec.push(count / (Number(now - start) / 1e9));
    const cpu = process.cpuUsage(cpu0);
    roundsPerCpuSec.push(count / ((cpu.user + cpu.system) / 1e6));
  }
  const lat: number[] = new Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    if (fn(inputs[i % n]) !== undefined) sink++;
    lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  lat.sort((a, b) => a - b);
  if (sink < 0) console.log(sink);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return {
    name,
    decisionsPerSec: med(roundsPerSec),
    decisionsPerCpuSec: med(roundsPerCpuSec),
    roundsPerSec,
    p50us: percentile(lat, 50),
    p99us: percentile(lat, 99),
  };
}

/** Compile `modules`, then measure evaluating `query` (a rule path or a query) over `inputs`. */
export function runCase(
  name: string,
  modules: PolicyOptions["modules"],
  query: string,
  inputs: unknown[],
  opts: RegoBenchOptions = {},
): RegoBenchResult {
  const fn = evaluator(modules, query, opts.data);
  if (opts.expect) for (const input of inputs) opts.expect(fn(input), input);
  return measure(name, fn, inputs, opts);
}

export function formatResult(r: RegoBenchResult, baseline?: RegoBenchResult): string {
  const ratio = baseline
    ? `  (${(r.decisionsPerSec / baseline.decisionsPerSec).toFixed(3)}x of ${baseline.name})`
    : "";
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US").padStart(11);
  return `${r.name.padEnd(34)} ${fmt(r.decisionsPerSec)} decisions/s (wall) ${fmt(r.decisionsPerCpuSec)} /CPU-s  p50 ${r.p50us.toFixed(2)} µs  p99 ${r.p99us.toFixed(2)} µs${ratio}`;
}
