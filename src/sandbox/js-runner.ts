// run_javascript: code evaluated by QuickJS inside a WASI component, a fresh component
// instance per call, in a pool of ready workers (hard stop by terminate on timeout).
import type { SandboxLimits } from "./config.js";
import { JS_WORKER_SOURCE } from "./js-worker-source.js";
import { capModuleMemory, WASM_PAGE_BYTES } from "./memory-cap.js";
import { ensureQuickJsBuild } from "./quickjs-build.js";
import type { SandboxOutcome } from "./result.js";
import { WorkerPool } from "./worker-pool.js";

interface GuestReply {
  stdout: string;
  stderr: string;
  result?: string;
  error?: string;
  outputLimit: boolean;
}

interface WorkerReply {
  setupError?: string;
  reply: string | null;
  trap: string | null;
  exited: number | null;
  outputLimitHit: boolean;
  hostStdout: string;
  hostStderr: string;
  wallMs: number;
}

export interface JsRunnerOptions {
  poolSize: number;
  /** Memory cap of every instance (wasm memory maximum of the QuickJS component). */
  memoryMiB: number;
  cacheDir?: string;
  /** Fresh instances each worker keeps ready (prepared in idle time) for bursts of calls. */
  sparesPerWorker?: number;
}

const DEFAULT_SPARES_PER_WORKER = 2;

export class JsRunner {
  private pool?: Promise<WorkerPool>;

  constructor(private readonly opts: JsRunnerOptions) {}

  /** Builds (first time only) the runtime and starts the workers. */
  start(): Promise<WorkerPool> {
    if (!this.pool) {
      this.pool = ensureQuickJsBuild(this.opts.cacheDir).then((build) => {
        const pages = Math.floor((this.opts.memoryMiB * 2 ** 20) / WASM_PAGE_BYTES);
        const coreModules: Record<string, Uint8Array> = {};
        for (const [file, bytes] of Object.entries(build.coreModules))
          coreModules[file] = capModuleMemory(bytes, pages);
        return new WorkerPool({
          source: JS_WORKER_SOURCE,
          size: this.opts.poolSize,
          init: {
            dir: build.dir,
            coreModules,
            spares: this.opts.sparesPerWorker ?? DEFAULT_SPARES_PER_WORKER,
          },
          resourceLimits: { maxOldGenerationSizeMb: 128 },
        });
      });
      this.pool.catch(() => {
        this.pool = undefined;
      });
    }
    return this.pool;
  }

  async run(
    code: string,
    input: unknown,
    limits: SandboxLimits,
    signal?: AbortSignal,
  ): Promise<SandboxOutcome> {
    const started = performance.now();
    const fail = (
      status: SandboxOutcome["status"],
      reason: string,
      extra: Partial<SandboxOutcome> = {},
    ): SandboxOutcome => ({
      status,
      reason,
      stdout: "",
      stderr: "",
      exitCode: null,
      usage: { wallMs: performance.now() - started },
      ...extra,
    });
    let inputJson = "";
    if (input !== undefined) {
      try {
        inputJson = JSON.stringify(input) ?? "";
      } catch {
        return fail("error", "input is not JSON-serialisable");
      }
    }
    let pool: WorkerPool;
    try {
      pool = await this.start();
    } catch (err) {
      return fail("error", (err as Error).message);
    }
    const end = await pool.run(
      { code, inputJson, maxOutputBytes: limits.maxOutputBytes },
      limits.timeoutMs,
      signal,
    );
    if (end.kind === "timeout")
      return fail("timeout", `time limit of ${limits.timeoutMs} ms exceeded; the run was stopped`);
    if (end.kind === "aborted") return fail("error", "the call was cancelled");
    if (end.kind === "crashed") {
      return end.outOfMemory
        ? fail("out_of_memory", `out of memory: ${end.reason}`)
        : fail("error", `sandbox worker failed: ${end.reason}`);
    }
    const r = end.value as WorkerReply;
    if (r.setupError) return fail("error", `JavaScript runtime failed to start: ${r.setupError}`);
    const usage = { wallMs: performance.now() - started };
    if (r.outputLimitHit)
      return fail("output_limit", `output exceeded ${limits.maxOutputBytes} bytes; the run was stopped`);
    if (r.exited !== null) return fail("error", "the runtime tried to exit", { exitCode: r.exited });
    if (r.trap !== null || r.reply === null) {
      // QuickJS's C stack lives in linear memory: deep recursion ends as an out-of-bounds trap.
      const hint = /out of bounds/i.test(r.trap ?? "") ? " (stack overflow or memory exhausted)" : "";
      return fail("trap", `wasm trap: ${r.trap}${hint}`);
    }
    let guest: GuestReply;
    try {
      guest = JSON.parse(r.reply) as GuestReply;
    } catch {
      return fail("error", "the runtime returned an unreadable reply");
    }
    const stdout = r.hostStdout + guest.stdout;
    const stderr = r.hostStderr + guest.stderr;
    if (guest.outputLimit) {
      return {
        status: "output_limit",
        reason: `output exceeded ${limits.maxOutputBytes} bytes; the run was stopped`,
        stdout,
        stderr,
        exitCode: null,
        usage,
      };
    }
    let result: unknown;
    if (guest.result !== undefined) result = JSON.parse(guest.result);
    if (guest.error !== undefined) {
      const oom = /out of memory/i.test(guest.error);
      return {
        status: oom ? "out_of_memory" : "error",
        reason: oom ? `memory limit of ${this.opts.memoryMiB} MiB reached (${guest.error})` : guest.error,
        stdout,
        stderr,
        exitCode: 1,
        usage,
      };
    }
    return { status: "ok", stdout, stderr, result, exitCode: 0, usage };
  }

  async close(): Promise<void> {
    const pool = await this.pool?.catch(() => undefined);
    await pool?.close();
  }
}
