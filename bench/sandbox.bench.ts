// bench:sandbox - cold and warm latency per call for each sandbox runtime, and calls/s
// with several in flight. Baselines are measured in the same run: the same wasm module
// run in-thread with plain node:wasi (no worker, no confinement), and the same JavaScript
// run in a node:vm context. The machine is shared and noisy: medians, bounded runs.
import { mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { WASI } from "node:wasi";
import { ComponentRunner } from "../src/sandbox/component-runner.js";
import { DEFAULT_LIMITS } from "../src/sandbox/config.js";
import { JsRunner } from "../src/sandbox/js-runner.js";
import { Preview1Runner } from "../src/sandbox/preview1-runner.js";
import { checkPythonConfinement, PythonRunner } from "../src/sandbox/python-runner.js";
import { compileC } from "../test/sandbox/support.js";

// The project's lib settings type WebAssembly as a namespace only; the runtime has it.
const Wasm = (
  globalThis as unknown as {
    WebAssembly: {
      compile(b: Uint8Array): Promise<object>;
      instantiate(m: object, i: object): Promise<{ exports: Record<string, unknown> }>;
    };
  }
).WebAssembly;

const WARM_CALLS = Number(process.env.BENCH_CALLS ?? 200);
const PY_CALLS = Number(process.env.BENCH_PY_CALLS ?? 5);
const IN_FLIGHT = 4;
// BENCH_ONLY=wasm,component,js,python runs a subset (all by default).
const only = new Set((process.env.BENCH_ONLY ?? "wasm,component,js,python").split(","));
const limits = { ...DEFAULT_LIMITS, timeoutMs: 30_000 };

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const v = await fn();
  return [performance.now() - t, v];
}

async function series(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await time(fn))[0]);
  return out;
}

/** Calls/s with `inFlight` calls at a time; `latencies` collects each call's own time. */
async function throughput(
  n: number,
  inFlight: number,
  fn: () => Promise<unknown>,
  latencies: number[] = [],
): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < n) latencies.push((await time(fn))[0]);
    }),
  );
  return (n / (performance.now() - t)) * 1000;
}

const rows: Array<Record<string, string>> = [];
function report(runtime: string, cold: number, warm: number[], callsPerSec: number, baseline?: number[]) {
  const p50 = quantile(warm, 0.5);
  const row: Record<string, string> = {
    runtime,
    cold: ms(cold),
    "warm p50": ms(p50),
    "warm p95": ms(quantile(warm, 0.95)),
    [`calls/s (${IN_FLIGHT} in flight)`]: callsPerSec.toFixed(1),
  };
  if (baseline) {
    const b = quantile(baseline, 0.5);
    row["baseline p50"] = ms(b);
    row["ratio p50/baseline"] = (p50 / b).toFixed(2);
  }
  rows.push(row);
  console.log(JSON.stringify(row));
}

// --- user .wasm (preview1) ---
const helloPath = compileC("sandboxes/hello/hello.c");
if (only.has("wasm")) {
  const runner = new Preview1Runner(2);
  const call = () =>
    runner.run({ wasmPath: helloPath, args: ["hello", "bench"], env: {}, preopens: {}, limits }).then((o) => {
      if (o.status !== "ok") throw new Error(`wasm call failed: ${o.reason}`);
    });
  const [cold] = await time(call);
  const warm = await series(WARM_CALLS, call);
  const cps = await throughput(WARM_CALLS, IN_FLIGHT, call);
  // Baseline: the same module, compiled once, instantiated and run in this thread.
  const mod = await Wasm.compile(readFileSync(helloPath));
  const devNull = openSync("/dev/null", "w");
  const baseline = await series(WARM_CALLS, async () => {
    const wasi = new WASI({
      version: "preview1",
      args: ["hello", "bench"],
      env: {},
      returnOnExit: true,
      stdout: devNull,
    });
    const inst = await Wasm.instantiate(mod, wasi.getImportObject());
    wasi.start(inst as Parameters<WASI["start"]>[0]);
  });
  report("user .wasm (preview1, worker pool of 2)", cold, warm, cps, baseline);
  await runner.close();
}

// --- user component (wasi:cli/run, the same C program wrapped with jco's preview1 adapter) ---
if (only.has("component")) {
  const { componentNew, preview1AdapterCommandPath } = await import("@bytecodealliance/jco");
  const bytes = await componentNew(readFileSync(helloPath), [
    ["wasi_snapshot_preview1", readFileSync(preview1AdapterCommandPath())],
  ]);
  const runner = new ComponentRunner(2, mkdtempSync(join(tmpdir(), "warden-bench-comp-")));
  const call = () =>
    runner
      .run(bytes, {
        wasmPath: "hello.component.wasm",
        args: ["hello", "bench"],
        env: {},
        preopens: {},
        limits,
      })
      .then((o) => {
        if (o.status !== "ok") throw new Error(`component call failed: ${o.reason}`);
      });
  const [cold] = await time(call);
  const warm = await series(WARM_CALLS, call);
  const cps = await throughput(WARM_CALLS, IN_FLIGHT, call);
  report("user component (wasi:cli/run, worker pool of 2)", cold, warm, cps);
  await runner.close();
}

// --- run_javascript (QuickJS component) ---
if (only.has("js")) {
  const cacheDir = mkdtempSync(join(tmpdir(), "warden-bench-cache-"));
  // BENCH_JS_POOL / BENCH_JS_SPARES compare pool shapes (defaults: 2 workers, 2 ready instances each).
  const runner = new JsRunner({
    poolSize: Number(process.env.BENCH_JS_POOL ?? 2),
    sparesPerWorker: Number(process.env.BENCH_JS_SPARES ?? 2),
    memoryMiB: 64,
    cacheDir,
  });
  const [build] = await time(() => runner.start());
  console.log(
    JSON.stringify({
      runtime: "run_javascript",
      "first build (componentize + transpile + pool start)": ms(build),
    }),
  );
  const code = "const xs = input.map((x) => x * 2); xs.reduce((a, b) => a + b, 0)";
  const call = () =>
    runner.run(code, [1, 2, 3, 4], limits).then((o) => {
      if (o.status !== "ok" || o.result !== 20) throw new Error(`js call failed: ${o.reason}`);
    });
  const [cold] = await time(call);
  // Warm, sequential: one call at a time, each sent as soon as the previous one answered.
  // Sustained, so it measures how fast fresh instances can be made, not only the call.
  const warm = await series(WARM_CALLS, call);
  // Paced: one call at a time with a short gap, as an interactive client calls.
  const paced: number[] = [];
  for (let i = 0; i < Math.min(50, WARM_CALLS); i++) {
    await new Promise((r) => setTimeout(r, 20));
    paced.push((await time(call))[0]);
  }
  // Bursts: 4 sequential calls, then 100 ms idle (the pool refills its ready instances).
  const bursts: number[] = [];
  for (let i = 0; i < Math.min(25, WARM_CALLS / 4); i++) {
    await new Promise((r) => setTimeout(r, 100));
    bursts.push(...(await series(4, call)));
  }
  const concurrent: number[] = [];
  const cps = await throughput(WARM_CALLS, IN_FLIGHT, call, concurrent);
  const baseline = await series(WARM_CALLS, async () => runInNewContext(code, { input: [1, 2, 3, 4] }));
  report("run_javascript (sequential, back-to-back)", cold, warm, cps, baseline);
  report("run_javascript (sequential, 20 ms apart)", cold, paced, cps, baseline);
  report("run_javascript (bursts of 4, 100 ms apart)", cold, bursts, cps, baseline);
  report(`run_javascript (concurrent, ${IN_FLIGHT} in flight)`, cold, concurrent, cps, baseline);
  await runner.close();
}

// --- run_python (pyodide, confined single-use children) ---
if (only.has("python")) {
  const c = checkPythonConfinement();
  if (!c.ok) {
    console.log(JSON.stringify({ runtime: "run_python", skipped: c.reason }));
  } else {
    const runner = new PythonRunner({ poolSize: 2, memoryMiB: 256 });
    const code = "sum(i * i for i in range(1000))";
    const call = () =>
      runner.run(code, limits).then((o) => {
        if (o.status !== "ok") throw new Error(`python call failed: ${o.reason}`);
      });
    // Cold: nothing loaded yet (the memory snapshot is built on the very first use and cached).
    const [cold] = await time(async () => {
      runner.start();
      await call();
    });
    // Warm: a loaded child is waiting (the pool refills between calls, as it does when idle).
    const warm: number[] = [];
    for (let i = 0; i < PY_CALLS; i++) {
      await runner.idle();
      warm.push((await time(call))[0]);
    }
    await runner.idle();
    const cps = await throughput(PY_CALLS * 2, IN_FLIGHT, call);
    report("run_python (pool of 2 confined children)", cold, warm, cps);
    await runner.close();
  }
}

console.log(
  "\nsummary (medians; targets: js warm p50 <= 10 ms, wasm warm p50 <= 5 ms, python warm p50 <= 500 ms)",
);
console.table(rows);
