// A pool of ready worker threads that run one sandbox job at a time each. A job that
// overruns its time limit gets its worker terminated (the only hard stop for a wasm loop)
// and a fresh worker takes the slot, so other calls keep being served.
import { type ResourceLimits, Worker } from "node:worker_threads";

export type JobEnd =
  | { kind: "done"; value: unknown }
  | { kind: "timeout"; elapsedMs: number }
  | { kind: "crashed"; reason: string; outOfMemory: boolean }
  | { kind: "aborted" };

export interface WorkerPoolOptions {
  /** CommonJS source of the worker: receives a job message, posts back one result message. */
  source: string;
  size: number;
  /** Message sent once to each new worker before its first job. */
  init?: unknown;
  resourceLimits?: ResourceLimits;
  /** Most jobs waiting for a worker; beyond it calls are refused rather than queued forever. */
  maxQueue?: number;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  lastUsed: number;
  /** Settles once the worker has booted (posted {type:"ready"}), died, or given up booting. */
  ready: Promise<void>;
  /** Fresh instances the worker reports ready ({type:"spares"}); workers that do not report stay at 0. */
  spares: number;
  /** The worker said it is instantiating a spare: a job sent now would wait for it. */
  preparing: boolean;
}

interface SparesReport {
  type?: string;
  count?: number;
  preparing?: boolean;
  spares?: number;
}

/** Longest a fresh worker may take to boot before a job gives up on it. */
const BOOT_TIMEOUT_MS = 120_000;

const readiness = (s: Slot) => (s.spares > 0 ? 2 : 0) + (s.preparing ? 0 : 1);

interface Waiter {
  resolve(slot: Slot): void;
  reject(err: Error): void;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(private readonly opts: WorkerPoolOptions) {
    for (let i = 0; i < opts.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.opts.source, {
      eval: true,
      // No host env or argv reach the worker; stdio is not piped to the parent's.
      env: {},
      argv: [],
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: this.opts.resourceLimits,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    worker.unref();
    if (this.opts.init !== undefined) worker.postMessage({ type: "init", init: this.opts.init });
    // The time limit must count the job, not the worker's boot (slow on a busy machine),
    // so jobs wait for this before their timer starts.
    const ready = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        worker.off("message", onReady);
        worker.off("exit", done);
        resolve();
      };
      const onReady = (msg: { type?: string } | null) => {
        if (msg?.type === "ready") done();
      };
      const timer = setTimeout(done, BOOT_TIMEOUT_MS);
      timer.unref();
      worker.on("message", onReady);
      worker.once("exit", done);
    });
    const slot: Slot = { worker, busy: false, lastUsed: 0, ready, spares: 0, preparing: false };
    worker.on("message", (msg: SparesReport | null) => {
      if (msg?.type === "spares") {
        slot.spares = msg.count ?? 0;
        slot.preparing = msg.preparing === true;
      } else if (typeof msg?.spares === "number") {
        slot.spares = msg.spares;
        slot.preparing = false;
      }
    });
    // An idle worker that dies (should not happen) is replaced on the next acquire.
    worker.on("error", () => {});
    return slot;
  }

  private acquire(): Promise<Slot> {
    if (this.closed) return Promise.reject(new Error("sandbox pool is closed"));
    // A worker with a fresh instance ready and not busy instantiating first, then least
    // recently used (it had the most time to prepare its next instance).
    let free: Slot | undefined;
    for (const s of this.slots) {
      if (s.busy) continue;
      if (
        !free ||
        readiness(s) > readiness(free) ||
        (readiness(s) === readiness(free) && s.lastUsed < free.lastUsed)
      )
        free = s;
    }
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    if (this.waiters.length >= (this.opts.maxQueue ?? 256)) {
      return Promise.reject(new Error("sandbox is busy: too many calls waiting"));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(slot: Slot, replace: boolean): void {
    let target = slot;
    if (replace) {
      void slot.worker.terminate();
      const idx = this.slots.indexOf(slot);
      if (this.closed) {
        if (idx >= 0) this.slots.splice(idx, 1);
        return;
      }
      target = this.spawn();
      if (idx >= 0) this.slots[idx] = target;
      else this.slots.push(target);
    }
    const next = this.waiters.shift();
    if (next) {
      target.busy = true;
      next.resolve(target);
    } else {
      target.busy = false;
    }
  }

  /** Runs one job in a worker; never rejects for a misbehaving job, only for a closed/busy pool. */
  async run(
    job: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
    transfer?: ArrayBuffer[],
  ): Promise<JobEnd> {
    if (signal?.aborted) return { kind: "aborted" };
    const slot = await this.acquire();
    await slot.ready;
    const started = performance.now();
    slot.lastUsed = started;
    return new Promise<JobEnd>((resolve) => {
      const { worker } = slot;
      let settled = false;
      const finish = (end: JobEnd, replace: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        signal?.removeEventListener("abort", onAbort);
        this.release(slot, replace);
        resolve(end);
      };
      // A worker may ask to be replaced after a job that left it in doubt (e.g. a trap).
      const onMessage = (value: unknown) => {
        const type = (value as { type?: string } | null)?.type;
        if (type === "ready" || type === "spares") return;
        finish({ kind: "done", value }, (value as { recycle?: boolean } | null)?.recycle === true);
      };
      const onError = (err: Error & { code?: string }) =>
        finish(
          { kind: "crashed", reason: err.message, outOfMemory: err.code === "ERR_WORKER_OUT_OF_MEMORY" },
          true,
        );
      const onExit = (code: number) =>
        finish(
          { kind: "crashed", reason: `sandbox worker exited with code ${code}`, outOfMemory: false },
          true,
        );
      const onAbort = () => finish({ kind: "aborted" }, true);
      const timer = setTimeout(
        () => finish({ kind: "timeout", elapsedMs: performance.now() - started }, true),
        timeoutMs,
      );
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      signal?.addEventListener("abort", onAbort, { once: true });
      worker.ref();
      try {
        worker.postMessage({ type: "job", job }, transfer ?? []);
      } catch (err) {
        finish(
          { kind: "crashed", reason: `cannot send job: ${(err as Error).message}`, outOfMemory: false },
          true,
        );
      }
    }).finally(() => {
      for (const s of this.slots) if (!s.busy) s.worker.unref();
    });
  }

  get size(): number {
    return this.slots.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new Error("sandbox pool is closed"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
