// run_python: pyodide in confined, single-use child processes (never in the proxy process).
// A pool keeps children loaded and waiting; each serves exactly one call, so no Python
// state survives from one call (or user) to the next. Timeout = SIGKILL.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { SandboxLimits } from "./config.js";
import { WASM_PAGE_BYTES } from "./memory-cap.js";
import { PYTHON_RUNNER_SOURCE } from "./python-runner-source.js";
import { defaultCacheDir } from "./quickjs-build.js";
import type { SandboxOutcome } from "./result.js";

const require = createRequire(import.meta.url);

/** Pyodide itself needs about this much wasm memory before any user code runs. */
export const PYTHON_MIN_MEMORY_MIB = 160;

export interface Confinement {
  ok: boolean;
  reason?: string;
}

let confinementCache: Confinement | undefined;

/** Probes whether the child confinement (Linux user+network namespaces) works on this host. */
export function probeConfinement(unshareBin = "unshare", platform: string = process.platform): Confinement {
  if (platform !== "linux") {
    return { ok: false, reason: `run_python needs Linux namespaces (unshare -rn); this host is ${platform}` };
  }
  const probe = spawnSync(unshareBin, ["-rn", "true"], { stdio: "ignore", timeout: 5_000 });
  return probe.status === 0
    ? { ok: true }
    : {
        ok: false,
        reason: `run_python needs 'unshare -rn' (user + network namespaces), which failed here: ${probe.error?.message ?? `exit ${probe.status}`}`,
      };
}

/** Cached probeConfinement() for this process. */
export function checkPythonConfinement(): Confinement {
  confinementCache ??= probeConfinement();
  return confinementCache;
}

function permissionFlag(): string {
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 5) ? "--permission" : "--experimental-permission";
}

/**
 * The confinement: new user + network namespaces (no network at all), an empty
 * environment, Node's permission model (read-only access to `readDirs`, no writes, no child
 * processes, no workers, no addons) and a process-wide wasm memory page cap.
 */
export function confinedNodeCommand(
  script: string,
  readDirs: string[],
  wasmMaxPages: number,
  scriptArgs: string[] = [],
): [string, string[]] {
  return [
    "unshare",
    [
      "-rn",
      "env",
      "-i",
      process.execPath,
      permissionFlag(),
      ...readDirs.map((d) => `--allow-fs-read=${d}`),
      `--wasm-max-mem-pages=${wasmMaxPages}`,
      "--max-old-space-size=256",
      script,
      ...scriptArgs,
    ],
  ];
}

interface ReadyChild {
  child: ChildProcess;
  lines: AsyncIterator<string>;
}

export interface PythonRunnerOptions {
  poolSize: number;
  memoryMiB: number;
  cacheDir?: string;
}

export class PythonRunner {
  private readonly ready: Array<Promise<ReadyChild>> = [];
  private readonly live = new Set<ChildProcess>();
  private runnerPath?: Promise<string>;
  private snapshot?: Promise<string | undefined>;
  private closed = false;
  readonly pyodideDir: string;

  constructor(private readonly opts: PythonRunnerOptions) {
    this.pyodideDir = dirname(require.resolve("pyodide/package.json"));
  }

  /** Fills the pool with loaded children (each load takes a few seconds). */
  start(): void {
    const c = checkPythonConfinement();
    if (!c.ok) throw new Error(c.reason);
    while (this.ready.length < this.opts.poolSize) this.ready.push(this.spawnChild());
  }

  /**
   * Makes (once per pyodide version) the memory snapshot children start from: a child boots
   * in a fraction of the time. Only this bootstrap child, which runs no user code, may write,
   * and only into the runner directory. Falls back to a plain load if it fails.
   */
  private ensureSnapshot(): Promise<string | undefined> {
    if (!this.snapshot) {
      this.snapshot = (async () => {
        const runner = await this.writeRunner();
        const version = (require("pyodide/package.json") as { version: string }).version;
        // A memory image is only valid for the pyodide, Node (V8) and runner that made it.
        const key = createHash("sha256")
          .update(`${version}\0${process.versions.node}\0${process.versions.v8}\0${PYTHON_RUNNER_SOURCE}`)
          .digest("hex")
          .slice(0, 16);
        const file = join(dirname(runner), `snapshot-${key}.bin`);
        if (
          await stat(file).then(
            (s) => s.size > 0,
            () => false,
          )
        )
          return file;
        const tmp = `${file}.${process.pid}.tmp`;
        const [cmd, args] = confinedNodeCommand(runner, [this.pyodideDir, dirname(runner)], 65_536, [
          this.pyodideDir,
          "make-snapshot",
          tmp,
        ]);
        args.splice(args.indexOf(runner), 0, `--allow-fs-write=${dirname(runner)}`);
        const ok = await new Promise<boolean>((resolve) => {
          const child = spawn(cmd, args, { stdio: "ignore" });
          this.live.add(child);
          child.on("exit", (code) => {
            this.live.delete(child);
            resolve(code === 0);
          });
          child.on("error", () => resolve(false));
        });
        if (!ok) return undefined;
        await rename(tmp, file);
        return file;
      })().catch(() => undefined);
    }
    return this.snapshot;
  }

  private writeRunner(): Promise<string> {
    if (!this.runnerPath) {
      const dir = join(this.opts.cacheDir ?? defaultCacheDir(), "python-runner");
      const file = join(dir, "runner.mjs");
      this.runnerPath = mkdir(dir, { recursive: true })
        .then(() => writeFile(file, PYTHON_RUNNER_SOURCE))
        .then(() => file);
    }
    return this.runnerPath;
  }

  private async spawnChild(): Promise<ReadyChild> {
    const snapshot = await this.ensureSnapshot();
    try {
      return await this.spawnFrom(snapshot);
    } catch (err) {
      if (!snapshot) throw err;
      // pyodide's snapshots are experimental: a child that cannot start from one makes us
      // drop it and boot plainly from now on, rather than fail every call.
      this.snapshot = Promise.resolve(undefined);
      await unlink(snapshot).catch(() => {});
      return this.spawnFrom(undefined);
    }
  }

  private async spawnFrom(snapshot: string | undefined): Promise<ReadyChild> {
    const runner = await this.writeRunner();
    if (this.closed) throw new Error("python runner is closed");
    const pages = Math.floor(
      (Math.max(this.opts.memoryMiB, PYTHON_MIN_MEMORY_MIB) * 2 ** 20) / WASM_PAGE_BYTES,
    );
    const [cmd, args] = confinedNodeCommand(runner, [this.pyodideDir, dirname(runner)], pages, [
      this.pyodideDir,
      ...(snapshot ? ["from-snapshot", snapshot] : ["plain"]),
    ]);
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    this.live.add(child);
    child.on("exit", () => this.live.delete(child));
    child.on("error", () => {});
    child.stdin?.on("error", () => {});
    let stderrTail = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-2000);
    });
    child.unref();
    if (!child.stdout) throw new Error("python sandbox has no stdout pipe");
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done || !first.value.includes('"ready"')) {
      child.kill("SIGKILL");
      throw new Error(
        `python sandbox failed to start: ${stderrTail.trim().split("\n").slice(-3).join(" | ") || "no output"}`,
      );
    }
    return { child, lines };
  }

  async run(code: string, limits: SandboxLimits, signal?: AbortSignal): Promise<SandboxOutcome> {
    const started = performance.now();
    const fail = (status: SandboxOutcome["status"], reason: string): SandboxOutcome => ({
      status,
      reason,
      stdout: "",
      stderr: "",
      exitCode: null,
      usage: { wallMs: performance.now() - started },
    });
    const c = checkPythonConfinement();
    if (!c.ok) return fail("error", c.reason ?? "confinement unavailable");
    if (this.closed) return fail("error", "python runner is closed");
    const next = this.ready.shift() ?? this.spawnChild();
    // Replace the taken child. Booting pyodide is CPU-heavy: when other loaded children are
    // still waiting, boot the replacement after this call so it does not slow the call down.
    let replaced = false;
    const replace = () => {
      if (replaced || this.closed) return;
      replaced = true;
      this.ready.push(this.spawnChild());
      for (const p of this.ready) p.catch(() => {});
    };
    if (this.ready.length === 0) replace();
    let rc: ReadyChild;
    try {
      rc = await next;
    } catch (err) {
      replace();
      return fail("error", (err as Error).message);
    }
    const { child, lines } = rc;
    child.ref();
    const runStarted = performance.now();
    return new Promise<SandboxOutcome>((resolve) => {
      let done = false;
      const finish = (o: SandboxOutcome) => {
        if (done) return;
        done = true;
        setImmediate(replace);
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        child.kill("SIGKILL");
        resolve(o);
      };
      const timer = setTimeout(
        () =>
          finish(
            fail("timeout", `time limit of ${limits.timeoutMs} ms exceeded; the Python process was killed`),
          ),
        limits.timeoutMs,
      );
      const onAbort = () => finish(fail("error", "the call was cancelled"));
      signal?.addEventListener("abort", onAbort, { once: true });
      child.once("exit", (code, sig) => {
        setImmediate(() =>
          finish(
            fail(
              sig === "SIGABRT" || code === 134 ? "out_of_memory" : "error",
              `python process ended unexpectedly (${sig ?? `exit ${code}`}) - likely out of memory`,
            ),
          ),
        );
      });
      lines.next().then(
        (line) => {
          if (line.done) return; // exit handler reports
          let r: {
            result?: unknown;
            error?: string;
            oom?: boolean;
            outputLimit?: boolean;
            stdout: string;
            stderr: string;
          };
          try {
            r = JSON.parse(line.value);
          } catch {
            finish(fail("error", "python sandbox returned an unreadable reply"));
            return;
          }
          const usage = { wallMs: performance.now() - started, memoryBytes: undefined };
          const base = { stdout: r.stdout ?? "", stderr: r.stderr ?? "", usage: { wallMs: usage.wallMs } };
          if (r.outputLimit) {
            finish({
              ...base,
              status: "output_limit",
              reason: `output exceeded ${limits.maxOutputBytes} bytes; the run was stopped`,
              exitCode: null,
            });
          } else if (r.error !== undefined) {
            finish({
              ...base,
              status: r.oom ? "out_of_memory" : "error",
              reason: r.oom ? `memory limit reached: ${r.error}` : r.error,
              exitCode: 1,
            });
          } else {
            finish({ ...base, status: "ok", result: r.result, exitCode: 0 });
          }
        },
        () => finish(fail("error", "python sandbox closed its output")),
      );
      child.stdin?.write(`${JSON.stringify({ code, maxOutputBytes: limits.maxOutputBytes })}\n`);
      void runStarted;
    });
  }

  /** Resolves when every pooled child has finished loading (benchmarks, warm-up). */
  async idle(): Promise<void> {
    // A finished call queues its replacement on the next turn: let it join the pool first.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.allSettled(this.ready);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.live) child.kill("SIGKILL");
    await Promise.allSettled(this.ready.splice(0));
  }
}
