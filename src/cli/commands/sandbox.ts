// `warden sandbox run <tool|file.wasm> [args...]`: runs one code tool locally, for tool authors.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import type { SandboxConfigInput } from "../../sandbox/config.js";
import { registerSandboxPlugin } from "../../sandbox/plugin.js";
import { createSandboxProvider } from "../../sandbox/provider.js";
import type { SandboxOutcome } from "../../sandbox/result.js";

interface RunOptions {
  config?: string;
  code?: string;
  file?: string;
  argsJson?: string;
  stdin?: string;
  dir: string[];
  env: string[];
  timeout?: string;
  memory?: string;
  maxOutput?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** Loads the sandbox section of a warden.yaml (or a file that is only a sandbox config). */
function loadConfig(file: string | undefined): SandboxConfigInput {
  if (!file) return {};
  const doc = parseYaml(readFileSync(file, "utf8")) as Record<string, unknown> | null;
  const section = (doc && typeof doc === "object" && "sandbox" in doc ? doc.sandbox : doc) ?? {};
  return { baseDir: dirname(resolve(file)), ...(section as SandboxConfigInput) };
}

export async function runSandboxCommand(
  target: string,
  rest: string[],
  opts: RunOptions,
): Promise<SandboxOutcome> {
  const limits = {
    timeoutMs: positiveInt("--timeout", opts.timeout),
    memoryMiB: positiveInt("--memory", opts.memory),
    maxOutputBytes: positiveInt("--max-output", opts.maxOutput),
  };
  const env: Record<string, string> = {};
  for (const pair of opts.env) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--env expects NAME=value, got "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const base = loadConfig(opts.config);
  const cliLimits = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
  const config: SandboxConfigInput = { ...base, poolSize: 1, limits: { ...base.limits, ...cliLimits } };
  if (target !== "run_python") config.python = { ...base.python, enabled: false };
  if (target === "run_python" && cliLimits.memoryMiB === undefined) delete config.limits?.memoryMiB;

  let toolName = target;
  let args: Record<string, unknown> = {};
  if (target.endsWith(".wasm")) {
    // A bare module: its CLI args become argv, stdin comes from --stdin.
    toolName = "cli_tool";
    config.tools = [
      {
        name: toolName,
        wasm: resolve(target),
        args: rest.map((_, i) => `{a${i}}`),
        stdinFrom: opts.stdin !== undefined ? "stdin" : undefined,
        readOnlyDirs: opts.dir.map((d) => {
          const [host, guest] = d.split(":");
          return { host: resolve(host), guest: guest || resolve(host) };
        }),
        env,
      },
    ];
    args = Object.fromEntries(rest.map((v, i) => [`a${i}`, v]));
    if (opts.stdin !== undefined) args.stdin = opts.stdin;
  } else if (target === "run_javascript" || target === "run_python") {
    const code = opts.code ?? (opts.file ? readFileSync(opts.file, "utf8") : rest.join(" "));
    if (!code)
      throw new Error(`${target} needs code: --code '<source>', --file <path> or the source as arguments`);
    args = { code };
    if (opts.argsJson) args.input = JSON.parse(opts.argsJson);
  } else if (opts.argsJson) {
    args = JSON.parse(opts.argsJson) as Record<string, unknown>;
  }
  const provider = createSandboxProvider(config);
  try {
    return await provider.run(toolName, args);
  } finally {
    await provider.close();
  }
}

export function register(program: Command): void {
  registerSandboxPlugin();
  const sandbox = program
    .command("sandbox")
    .description("WASI code tools: run_javascript, run_python, user .wasm tools");
  sandbox
    .command("run")
    .description(
      "Run one code tool locally: a .wasm file, run_javascript, run_python, or a tool from --config",
    )
    .argument("<target>", "path to a wasm32-wasi .wasm, run_javascript, run_python or a configured tool name")
    .argument("[args...]", "argv for a .wasm; the code for run_javascript/run_python")
    .option("-c, --config <file>", "warden.yaml (its sandbox section) or a sandbox config file")
    .option("--code <source>", "code for run_javascript / run_python")
    .option("--file <path>", "read the code for run_javascript / run_python from a file")
    .option("--args-json <json>", "tool arguments as JSON (configured tools; `input` for run_javascript)")
    .option("--stdin <text>", "stdin for a .wasm")
    .option("--dir <path>", "read-only directory for a .wasm, host[:guest] (repeatable)", collect, [])
    .option("--env <NAME=value>", "environment variable for a .wasm (repeatable)", collect, [])
    .option("--timeout <ms>", "time limit")
    .option("--memory <MiB>", "memory limit")
    .option("--max-output <bytes>", "stdout+stderr byte limit")
    .option("--json", "print the whole outcome as JSON")
    .action(async (target: string, rest: string[], opts: RunOptions) => {
      let outcome: SandboxOutcome;
      try {
        outcome = await runSandboxCommand(target, rest, opts);
      } catch (err) {
        process.stderr.write(`warden sandbox run: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
      } else {
        if (outcome.stdout)
          process.stdout.write(outcome.stdout.endsWith("\n") ? outcome.stdout : `${outcome.stdout}\n`);
        if (outcome.stderr)
          process.stderr.write(outcome.stderr.endsWith("\n") ? outcome.stderr : `${outcome.stderr}\n`);
        if (outcome.result !== undefined) process.stdout.write(`${JSON.stringify(outcome.result)}\n`);
        if (outcome.status !== "ok") process.stderr.write(`[${outcome.status}] ${outcome.reason ?? ""}\n`);
      }
      process.exitCode = outcome.status === "ok" ? 0 : (outcome.exitCode ?? 1) || 1;
    });
}
