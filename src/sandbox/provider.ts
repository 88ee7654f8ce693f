// The code tools as a LocalToolProvider: run_javascript, run_python and user .wasm tools.
// The proxy mounts it like a downstream server; every abnormal end is a tool error
// (isError: true with the reason), never an exception that could take warden down.
import { open, readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import type { LocalToolProvider, ToolDescriptor } from "../pipeline/types.js";
import { ComponentRunner, isComponent } from "./component-runner.js";
import {
  parseSandboxConfig,
  resolveLimits,
  type SandboxConfig,
  type SandboxConfigInput,
  type SandboxLimits,
  type SandboxToolConfig,
} from "./config.js";
import { JsRunner } from "./js-runner.js";
import type { OutcomeHook, SandboxRuntime } from "./metrics.js";
import { Preview1Runner } from "./preview1-runner.js";
import {
  type Confinement,
  checkPythonConfinement,
  PYTHON_MIN_MEMORY_MIB,
  PythonRunner,
} from "./python-runner.js";
import { type SandboxOutcome, type ToolResult, toToolResult } from "./result.js";
import { buildArgv, checkArguments, stdinFor, ToolArgumentError } from "./tool-args.js";

export interface SandboxProvider extends LocalToolProvider {
  /** Runtimes that are configured but cannot run here, with the reason (e.g. run_python off Linux). */
  readonly unavailable: Readonly<Record<string, string>>;
  /** Starts pools and builds runtimes now instead of on first use. */
  warm(): Promise<void>;
  /** Runs a tool and returns the raw outcome (the CLI and tests use it). */
  run(
    name: string,
    args: Record<string, unknown>,
    signal?: AbortSignal,
    tighter?: Partial<Pick<SandboxLimits, "timeoutMs" | "maxOutputBytes">>,
  ): Promise<SandboxOutcome>;
  close(): Promise<void>;
}

const JS_TOOL: ToolDescriptor = {
  name: "run_javascript",
  description:
    "Run JavaScript (ES2023, QuickJS) in a WASI sandbox: no network, no files, no host globals. " +
    "console.log output is returned as stdout; the value of the last expression as result. " +
    "The optional `input` argument is available to the code as the global `input`.",
  inputSchema: {
    type: "object",
    properties: {
      code: { type: "string", description: "JavaScript source, evaluated as a script" },
      input: { description: "Any JSON value, exposed to the code as `input`" },
    },
    required: ["code"],
  },
};

const PY_TOOL: ToolDescriptor = {
  name: "run_python",
  description:
    "Run Python 3 (pyodide) in a confined sandbox: no network, no host files, a fresh interpreter per call. " +
    "print() output is returned as stdout; the value of the last expression as result.",
  inputSchema: {
    type: "object",
    properties: { code: { type: "string", description: "Python source" } },
    required: ["code"],
  },
};

/** Per-call limits a caller may ask for: they can only tighten the configured ones. */
type Tighter = Partial<Pick<SandboxLimits, "timeoutMs" | "maxOutputBytes">>;

function tighten(limits: SandboxLimits, tighter: Tighter): SandboxLimits {
  return {
    ...limits,
    timeoutMs: Math.min(limits.timeoutMs, tighter.timeoutMs ?? Number.POSITIVE_INFINITY),
    maxOutputBytes: Math.min(limits.maxOutputBytes, tighter.maxOutputBytes ?? Number.POSITIVE_INFINITY),
  };
}

/** The first 8 bytes of a file (wasm magic + version/layer), or undefined if unreadable. */
async function readHeader(path: string): Promise<Uint8Array | undefined> {
  try {
    const fh = await open(path, "r");
    try {
      const buf = new Uint8Array(8);
      const { bytesRead } = await fh.read(buf, 0, 8, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

function errorOutcome(reason: string): SandboxOutcome {
  return { status: "error", reason, stdout: "", stderr: "", exitCode: null, usage: { wallMs: 0 } };
}

export interface SandboxProviderOptions {
  /** Called after every run (metrics: see sandboxMetrics); must not throw. */
  onOutcome?: OutcomeHook;
  /** Overrides the run_python confinement probe (tests; hosts that know better). */
  pythonConfinement?: Confinement;
}

export function createSandboxProvider(
  input: SandboxConfigInput | SandboxConfig = {},
  options: SandboxProviderOptions = {},
): SandboxProvider {
  const config = parseSandboxConfig(input);
  const baseDir = config.baseDir ?? process.cwd();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const unavailable: Record<string, string> = {};

  const jsLimits = resolveLimits(config.limits, config.javascript.limits);
  // Pyodide needs far more memory than a small tool: only python.limits sets its cap.
  const pyLimits = resolveLimits(
    { memoryMiB: 512, timeoutMs: 10_000 },
    { ...config.limits, memoryMiB: undefined },
    config.python.limits,
  );
  if (config.python.enabled && pyLimits.memoryMiB < PYTHON_MIN_MEMORY_MIB) {
    throw new Error(
      `invalid sandbox config: python.limits.memoryMiB must be at least ${PYTHON_MIN_MEMORY_MIB}`,
    );
  }
  if (config.python.enabled) {
    const c = options.pythonConfinement ?? checkPythonConfinement();
    if (!c.ok) unavailable.run_python = c.reason ?? "confinement unavailable";
  }

  const js = config.javascript.enabled
    ? new JsRunner({ poolSize: config.poolSize, memoryMiB: jsLimits.memoryMiB, cacheDir: config.cacheDir })
    : undefined;
  const py =
    config.python.enabled && !unavailable.run_python
      ? new PythonRunner({
          poolSize: config.python.poolSize,
          memoryMiB: pyLimits.memoryMiB,
          cacheDir: config.cacheDir,
        })
      : undefined;
  let preview1: Preview1Runner | undefined;
  const wasm = () => {
    preview1 ??= new Preview1Runner(config.poolSize);
    return preview1;
  };
  let components: ComponentRunner | undefined;
  const userTools = new Map<string, SandboxToolConfig>(config.tools.map((t) => [t.name, t]));
  let pyStarted = false;
  const startPython = () => {
    if (py && !pyStarted) {
      pyStarted = true;
      py.start();
    }
  };

  async function runUserTool(
    tool: SandboxToolConfig,
    args: Record<string, unknown>,
    signal: AbortSignal | undefined,
    tighter: Tighter,
  ) {
    const limits: SandboxLimits = tighten(resolveLimits(config.limits, tool.limits), tighter);
    let argv: string[];
    let stdin: string | undefined;
    try {
      checkArguments(tool.inputSchema, args);
      argv = buildArgv(tool, args);
      stdin = stdinFor(tool, args);
    } catch (err) {
      if (err instanceof ToolArgumentError) return errorOutcome(err.message);
      throw err;
    }
    const env: Record<string, string> = {};
    for (const name of tool.passEnv) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, tool.env);
    const preopens: Record<string, string> = {};
    for (const dir of tool.readOnlyDirs) {
      if (typeof dir === "string") preopens[dir] = abs(dir);
      else preopens[dir.guest] = abs(dir.host);
    }
    const request = { wasmPath: abs(tool.wasm), args: argv, env, preopens, stdin, limits, signal };
    const header = await readHeader(request.wasmPath);
    if (header && isComponent(header)) {
      components ??= new ComponentRunner(config.poolSize, config.cacheDir);
      return components.run(await readFile(request.wasmPath), request);
    }
    return wasm().run(request);
  }

  async function run(
    name: string,
    args: Record<string, unknown>,
    signal?: AbortSignal,
    tighter: Tighter = {},
  ): Promise<SandboxOutcome> {
    const runtime: SandboxRuntime =
      name === "run_javascript" ? "javascript" : name === "run_python" ? "python" : "wasm";
    const outcome = await dispatch(name, args, signal, tighter);
    try {
      options.onOutcome?.(name, runtime, outcome);
    } catch {
      // A metrics hook must never turn a finished run into a failure.
    }
    return outcome;
  }

  async function dispatch(
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal | undefined,
    tighter: Tighter,
  ): Promise<SandboxOutcome> {
    if (args === null || typeof args !== "object" || Array.isArray(args))
      return errorOutcome("arguments must be an object");
    if (name === "run_javascript" && js) {
      if (typeof args.code !== "string") return errorOutcome('argument "code" must be a string');
      return js.run(args.code, args.input, tighten(jsLimits, tighter), signal);
    }
    if (name === "run_python" && config.python.enabled) {
      if (!py) return errorOutcome(unavailable.run_python ?? "run_python is not available");
      if (typeof args.code !== "string") return errorOutcome('argument "code" must be a string');
      startPython();
      return py.run(args.code, tighten(pyLimits, tighter), signal);
    }
    const tool = userTools.get(name);
    if (tool) return runUserTool(tool, args, signal, tighter);
    return errorOutcome(`unknown sandbox tool "${name}"`);
  }

  return {
    name: config.name,
    unavailable,
    listTools(): ToolDescriptor[] {
      const tools: ToolDescriptor[] = [];
      if (js) tools.push(JS_TOOL);
      if (py) tools.push(PY_TOOL);
      for (const t of config.tools) {
        tools.push({
          name: t.name,
          description: t.description ?? `WASI tool ${t.wasm}`,
          inputSchema: t.inputSchema,
        });
      }
      return tools;
    },
    async callTool(name, args, signal): Promise<ToolResult> {
      try {
        return toToolResult(await run(name, args ?? {}, signal));
      } catch (err) {
        return toToolResult(errorOutcome(`sandbox failure: ${(err as Error).message}`));
      }
    },
    run,
    async warm() {
      startPython();
      await js?.start();
      if (config.tools.length > 0) {
        for (const t of config.tools)
          await wasm()
            .compile(abs(t.wasm), resolveLimits(config.limits, t.limits).memoryMiB)
            .catch(() => {});
      }
    },
    async close() {
      await Promise.all([js?.close(), py?.close(), preview1?.close(), components?.close()]);
    },
  };
}
