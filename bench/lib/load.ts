// A closed-loop load generator: `concurrency` workers each issue one call at a time,
// back to back, until a call count or a time budget is reached (whichever comes first).
import { performance } from "node:perf_hooks";

export interface LoadOptions {
  concurrency: number;
  /** Calls issued (across workers) before measuring, to warm JITs, sockets and caches. */
  warmupCalls: number;
  /**
   * ...and keep warming up for at least this long. On a loaded machine V8's optimizing compiler
   * (a background thread) gets little CPU, so a few hundred calls can still run unoptimized code.
   */
  warmupMs?: number;
  /** Stop after this many measured calls... */
  maxCalls: number;
  /** ...or after this many milliseconds of measuring. */
  maxMs: number;
  /** Called once warmup is over, right before measuring starts. */
  onMeasureStart?: () => void;
}

export interface LoadResult {
  /** Per-call latency in milliseconds, in completion order. */
  latencies: number[];
  elapsedMs: number;
  callsPerSecond: number;
  errors: number;
  firstError?: string;
}

async function drive(
  call: () => Promise<unknown>,
  concurrency: number,
  keepGoing: () => boolean,
  onDone: (ms: number, error?: unknown) => void,
) {
  const worker = async () => {
    while (keepGoing()) {
      const start = performance.now();
      try {
        await call();
        onDone(performance.now() - start);
      } catch (error) {
        onDone(performance.now() - start, error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function runLoad(call: () => Promise<unknown>, options: LoadOptions): Promise<LoadResult> {
  let warmIssued = 0;
  const warmUntil = performance.now() + (options.warmupMs ?? 0);
  await drive(
    call,
    options.concurrency,
    () => warmIssued++ < options.warmupCalls || performance.now() < warmUntil,
    () => {},
  );

  options.onMeasureStart?.();
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let issued = 0;
  const start = performance.now();
  const deadline = start + options.maxMs;
  await drive(
    call,
    options.concurrency,
    () => issued++ < options.maxCalls && performance.now() < deadline,
    (ms, error) => {
      if (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      } else latencies.push(ms);
    },
  );
  const elapsedMs = performance.now() - start;
  return { latencies, elapsedMs, callsPerSecond: (latencies.length / elapsedMs) * 1000, errors, firstError };
}
