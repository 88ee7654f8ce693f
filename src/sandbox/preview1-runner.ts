// Runs WASI preview1 command modules (user .wasm tools) in a pool of ready workers:
// compile once per (file, memory cap), instantiate fresh per call.
import { readFile, realpath, stat } from "node:fs/promises";
import type { SandboxLimits } from "./config.js";
import { capModuleMemory, WASM_PAGE_BYTES } from "./memory-cap.js";
import { PREVIEW1_WORKER_SOURCE } from "./preview1-worker-source.js";
import type { SandboxOutcome } from "./result.js";
import { WorkerPool } from "./worker-pool.js";

// The project's lib settings type WebAssembly as a namespace only; the runtime has it.
type CompiledModule = object;
const wasmApi = (
  globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledModule> } }
).WebAssembly;

export interface Preview1Request {
  wasmPath: string;
  /** Full argv, program name first. */
  args: string[];
  env: Record<string, string>;
  /** guest path -> host directory (read-only). */
  preopens: Record<string, string>;
  stdin?: string | Uint8Array;
  limits: SandboxLimits;
  signal?: AbortSignal;
}

interface WorkerReply {
  setupError?: string;
  exitCode: number | null;
  trap: string | null;
  outputLimitHit: boolean;
  stdout: string;
  stderr: string;
  memoryBytes: number;
  memoryLimitReached: boolean;
  wallMs: number;
}

export class Preview1Runner {
  private readonly pool: WorkerPool;
  private readonly modules = new Map<string, Promise<CompiledModule>>();

  constructor(poolSize: number) {
    this.pool = new WorkerPool({
      source: PREVIEW1_WORKER_SOURCE,
      size: poolSize,
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
  }

  /** Compiles (once) the module with its memory maximum rewritten to the cap. */
  async compile(wasmPath: string, memoryMiB: number): Promise<CompiledModule> {
    const real = await realpath(wasmPath);
    const st = await stat(real);
    const pages = Math.floor((memoryMiB * 2 ** 20) / WASM_PAGE_BYTES);
    const key = `${real}\0${st.mtimeMs}\0${st.size}\0${pages}`;
    let mod = this.modules.get(key);
    if (!mod) {
      mod = readFile(real).then((bytes) => wasmApi.compile(capModuleMemory(bytes, pages)));
      this.modules.set(key, mod);
      mod.catch(() => this.modules.delete(key));
    }
    return mod;
  }

  async run(req: Preview1Request): Promise<SandboxOutcome> {
    const started = performance.now();
    const fail = (reason: string): SandboxOutcome => ({
      status: "error",
      reason,
      stdout: "",
      stderr: "",
      exitCode: null,
      usage: { wallMs: performance.now() - started },
    });
    let module: CompiledModule;
    try {
      module = await this.compile(req.wasmPath, req.limits.memoryMiB);
    } catch (err) {
      return fail(`cannot load ${req.wasmPath}: ${(err as Error).message}`);
    }
    const preopens: Record<string, string> = {};
    for (const [guest, host] of Object.entries(req.preopens)) {
      try {
        preopens[guest] = await realpath(host);
      } catch {
        return fail(`read-only directory ${host} does not exist`);
      }
    }
    const stdin = typeof req.stdin === "string" ? new TextEncoder().encode(req.stdin) : req.stdin;
    const job = {
      module,
      args: req.args,
      env: req.env,
      preopens,
      stdin,
      maxOutputBytes: req.limits.maxOutputBytes,
      maxMemoryBytes: req.limits.memoryMiB * 2 ** 20,
    };
    const end = await this.pool.run(job, req.limits.timeoutMs, req.signal);
    const wallMs = performance.now() - started;
    if (end.kind === "timeout") {
      return {
        ...fail(`time limit of ${req.limits.timeoutMs} ms exceeded; the run was stopped`),
        status: "timeout",
      };
    }
    if (end.kind === "aborted") return fail("the call was cancelled");
    if (end.kind === "crashed") {
      return end.outOfMemory
        ? { ...fail(`out of memory: ${end.reason}`), status: "out_of_memory" }
        : fail(`sandbox worker failed: ${end.reason}`);
    }
    const r = end.value as WorkerReply;
    if (r.setupError) return fail(r.setupError);
    const base = {
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.exitCode,
      usage: { wallMs, memoryBytes: r.memoryBytes },
    };
    if (r.outputLimitHit) {
      return {
        ...base,
        status: "output_limit",
        reason: `output exceeded ${req.limits.maxOutputBytes} bytes; the run was stopped`,
      };
    }
    if (r.trap !== null) {
      return r.memoryLimitReached
        ? {
            ...base,
            status: "out_of_memory",
            reason: `memory limit of ${req.limits.memoryMiB} MiB reached (${r.trap})`,
          }
        : { ...base, status: "trap", reason: `wasm trap: ${r.trap}` };
    }
    if (r.exitCode !== 0) {
      return r.memoryLimitReached
        ? {
            ...base,
            status: "out_of_memory",
            reason: `memory limit of ${req.limits.memoryMiB} MiB reached (exit code ${r.exitCode})`,
          }
        : { ...base, status: "exit_nonzero", reason: `exit code ${r.exitCode}` };
    }
    return { ...base, status: "ok" };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
