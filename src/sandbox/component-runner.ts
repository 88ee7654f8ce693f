// Runs user-supplied WASI 0.2 command components (wasi:cli/run): transpiled once per file
// content with jco into the cache dir, core modules compiled once per memory cap, then a
// fresh instance per call in a pool of ready workers.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { COMPONENT_WORKER_SOURCE } from "./component-worker-source.js";
import { capModuleMemory, WASM_PAGE_BYTES } from "./memory-cap.js";
import type { Preview1Request } from "./preview1-runner.js";
import { defaultCacheDir } from "./quickjs-build.js";
import type { SandboxOutcome } from "./result.js";
import { WorkerPool } from "./worker-pool.js";

type CompiledModule = object;
const wasmApi = (
  globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledModule> } }
).WebAssembly;

/** Interfaces warden's component host serves. Anything else (sockets, http, ...) is refused. */
const SERVED = new Set([
  "wasi:cli/environment",
  "wasi:cli/exit",
  "wasi:cli/stdin",
  "wasi:cli/stdout",
  "wasi:cli/stderr",
  "wasi:cli/terminal-input",
  "wasi:cli/terminal-output",
  "wasi:cli/terminal-stdin",
  "wasi:cli/terminal-stdout",
  "wasi:cli/terminal-stderr",
  "wasi:clocks/monotonic-clock",
  "wasi:clocks/wall-clock",
  "wasi:filesystem/preopens",
  "wasi:filesystem/types",
  "wasi:io/error",
  "wasi:io/poll",
  "wasi:io/streams",
  "wasi:random/random",
  "wasi:random/insecure",
  "wasi:random/insecure-seed",
]);

/** True for a component binary (layer 1), false for a core module. */
export function isComponent(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 8 && bytes[4] === 0x0d && bytes[5] === 0x00 && bytes[6] === 0x01 && bytes[7] === 0x00
  );
}

interface Transpiled {
  dir: string;
  cores: Record<string, Uint8Array>;
}

interface WorkerReply {
  setupError?: string;
  exitCode: number | null;
  trap: string | null;
  outputLimitHit: boolean;
  stdout: string;
  stderr: string;
}

export class ComponentRunner {
  private readonly pool: WorkerPool;
  private readonly transpiled = new Map<string, Promise<Transpiled>>();
  private readonly compiled = new Map<string, Promise<Record<string, CompiledModule>>>();

  constructor(
    poolSize: number,
    private readonly cacheDir = defaultCacheDir(),
  ) {
    this.pool = new WorkerPool({
      source: COMPONENT_WORKER_SOURCE,
      size: poolSize,
      resourceLimits: { maxOldGenerationSizeMb: 128 },
    });
  }

  private transpile(bytes: Uint8Array): Promise<Transpiled> {
    const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 24);
    let p = this.transpiled.get(hash);
    if (!p) {
      p = this.doTranspile(bytes, join(this.cacheDir, `component-${hash}`));
      this.transpiled.set(hash, p);
      p.catch(() => this.transpiled.delete(hash));
    }
    return p;
  }

  private async doTranspile(bytes: Uint8Array, dir: string): Promise<Transpiled> {
    const load = async (): Promise<Transpiled> => {
      const cores: Record<string, Uint8Array> = {};
      for (const f of await readdir(dir))
        if (f.endsWith(".wasm")) cores[f] = new Uint8Array(await readFile(join(dir, f)));
      return { dir, cores };
    };
    if (
      await readFile(join(dir, "component.js")).then(
        () => true,
        () => false,
      )
    )
      return load();
    const { transpile } = await import("@bytecodealliance/jco");
    const out = await transpile(bytes, {
      name: "component",
      instantiation: "sync",
      noTypescript: true,
      quiet: true,
      wasiShim: false,
    });
    const refused = out.imports.filter((i) => !SERVED.has(i.replace(/@.*$/, "")));
    if (refused.length > 0) {
      throw new Error(`component imports interfaces the sandbox does not provide: ${refused.join(", ")}`);
    }
    if (!out.exports.some(([name]) => name.startsWith("wasi:cli/run") || name === "run")) {
      throw new Error("component does not export wasi:cli/run (build a command component)");
    }
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    for (const [file, data] of Object.entries(out.files))
      if (!file.includes("/")) await writeFile(join(tmp, file), data);
    try {
      await rename(tmp, dir);
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code !== "ENOTEMPTY" &&
        (err as NodeJS.ErrnoException).code !== "EEXIST"
      )
        throw err;
      await rm(tmp, { recursive: true, force: true });
    }
    return load();
  }

  private compile(t: Transpiled, pages: number): Promise<Record<string, CompiledModule>> {
    const key = `${t.dir}\0${pages}`;
    let p = this.compiled.get(key);
    if (!p) {
      p = (async () => {
        const mods: Record<string, CompiledModule> = {};
        for (const [file, bytes] of Object.entries(t.cores))
          mods[file] = await wasmApi.compile(capModuleMemory(bytes, pages));
        return mods;
      })();
      this.compiled.set(key, p);
      p.catch(() => this.compiled.delete(key));
    }
    return p;
  }

  /** Runs one call; `bytes` is the component binary already read by the caller. */
  async run(bytes: Uint8Array, req: Preview1Request): Promise<SandboxOutcome> {
    const started = performance.now();
    const fail = (status: SandboxOutcome["status"], reason: string): SandboxOutcome => ({
      status,
      reason,
      stdout: "",
      stderr: "",
      exitCode: null,
      usage: { wallMs: performance.now() - started },
    });
    if (Object.keys(req.preopens).length > 0) {
      return fail(
        "error",
        "read-only directories are not supported for component tools yet (use a preview1 module)",
      );
    }
    let modules: Record<string, CompiledModule>;
    let dir: string;
    try {
      const t = await this.transpile(bytes);
      dir = t.dir;
      modules = await this.compile(t, Math.floor((req.limits.memoryMiB * 2 ** 20) / WASM_PAGE_BYTES));
    } catch (err) {
      return fail("error", `cannot load component ${req.wasmPath}: ${(err as Error).message}`);
    }
    const stdin = typeof req.stdin === "string" ? new TextEncoder().encode(req.stdin) : req.stdin;
    const job = {
      dir,
      modules,
      args: req.args,
      env: req.env,
      stdin,
      maxOutputBytes: req.limits.maxOutputBytes,
    };
    const end = await this.pool.run(job, req.limits.timeoutMs, req.signal);
    if (end.kind === "timeout")
      return fail("timeout", `time limit of ${req.limits.timeoutMs} ms exceeded; the run was stopped`);
    if (end.kind === "aborted") return fail("error", "the call was cancelled");
    if (end.kind === "crashed") {
      return end.outOfMemory
        ? fail("out_of_memory", `out of memory: ${end.reason}`)
        : fail("error", `sandbox worker failed: ${end.reason}`);
    }
    const r = end.value as WorkerReply;
    if (r.setupError) return fail("error", r.setupError);
    const base = {
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.exitCode,
      usage: { wallMs: performance.now() - started },
    };
    if (r.outputLimitHit) {
      return {
        ...base,
        status: "output_limit",
        reason: `output exceeded ${req.limits.maxOutputBytes} bytes; the run was stopped`,
      };
    }
    if (r.trap !== null) {
      const oom = /memory/i.test(r.trap);
      return oom
        ? {
            ...base,
            status: "out_of_memory",
            reason: `memory limit of ${req.limits.memoryMiB} MiB reached (${r.trap})`,
          }
        : { ...base, status: "trap", reason: `wasm trap: ${r.trap.replace(/^wasm trap: /, "")}` };
    }
    if (r.exitCode !== 0) return { ...base, status: "exit_nonzero", reason: `exit code ${r.exitCode}` };
    return { ...base, status: "ok" };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
