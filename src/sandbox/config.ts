// Configuration of the code tools: built-in run_javascript/run_python and user .wasm tools.
import { z } from "zod";

const toolName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, "tool names use letters, digits, '_', '.', '-' (1-64 chars)");

export const limitsSchema = z.object({
  /** Wall-clock limit per call; the worker or child is killed when it is reached. */
  timeoutMs: z.number().int().min(10).max(600_000),
  /** Wasm linear memory cap per call (rewritten into the module's memory maximum). */
  memoryMiB: z.number().int().min(1).max(4096),
  /** Combined stdout+stderr bytes a call may write before it is stopped. */
  maxOutputBytes: z
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024),
});
export type SandboxLimits = z.infer<typeof limitsSchema>;

export const DEFAULT_LIMITS: SandboxLimits = { timeoutMs: 5_000, memoryMiB: 64, maxOutputBytes: 1_048_576 };

const partialLimits = limitsSchema.partial();

const readOnlyDirSchema = z.union([
  z.string().min(1),
  z.object({ host: z.string().min(1), guest: z.string().min(1) }).strict(),
]);

/** A user-supplied WASI tool: one `.wasm` command module run per call on a fresh instance. */
export const sandboxToolSchema = z
  .object({
    name: toolName,
    description: z.string().optional(),
    /** Path to a wasm32-wasi core module (relative paths resolve against the config's baseDir). */
    wasm: z.string().min(1),
    /** JSON Schema of the tool arguments, as listed to clients. */
    inputSchema: z.record(z.string(), z.unknown()).default({ type: "object", properties: {} }),
    /**
     * argv after the program name. "{prop}" is replaced by the argument `prop` (strings,
     * numbers, booleans); an element that is exactly "{...prop}" expands an array argument.
     */
    args: z.array(z.string()).default([]),
    /** Name of a string argument whose value becomes the program's stdin. */
    stdinFrom: z.string().optional(),
    /** Directories the program may read (never write): "path" or { host, guest }. */
    readOnlyDirs: z.array(readOnlyDirSchema).default([]),
    /** Environment the program sees: nothing of the host's unless listed here. */
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}),
    /** Host environment variables copied in by name (explicit opt-in per variable). */
    passEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]),
    limits: partialLimits.optional(),
  })
  .strict();
export type SandboxToolConfig = z.infer<typeof sandboxToolSchema>;

export const sandboxConfigSchema = z
  .object({
    /** Provider (server) name the proxy mounts the code tools under. */
    name: z.string().default("sandbox"),
    /** Where built runtimes are cached (never committed). Default: ~/.cache/mcp-warden/sandbox. */
    cacheDir: z.string().optional(),
    /** Directory relative `wasm` and `readOnlyDirs` paths resolve against. Default: cwd. */
    baseDir: z.string().optional(),
    /** Ready workers per runtime (warm calls skip worker start-up). */
    poolSize: z.number().int().min(1).max(32).default(2),
    limits: partialLimits.default({}),
    javascript: z
      .object({ enabled: z.boolean().default(true), limits: partialLimits.optional() })
      .strict()
      .default({ enabled: true }),
    python: z
      .object({
        enabled: z.boolean().default(true),
        /** Warm confined Python child processes (each ~150 MB). */
        poolSize: z.number().int().min(1).max(8).default(1),
        limits: partialLimits.optional(),
      })
      .strict()
      .default({ enabled: true, poolSize: 1 }),
    tools: z.array(sandboxToolSchema).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    for (const [i, t] of cfg.tools.entries()) {
      if (t.name === "run_javascript" || t.name === "run_python" || seen.has(t.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["tools", i, "name"],
          message: `duplicate tool name "${t.name}"`,
        });
      }
      seen.add(t.name);
    }
  });
export type SandboxConfig = z.infer<typeof sandboxConfigSchema>;
export type SandboxConfigInput = z.input<typeof sandboxConfigSchema>;

/** Parses a sandbox config; throws an Error whose message lists every problem. */
export function parseSandboxConfig(input: unknown): SandboxConfig {
  const parsed = sandboxConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`invalid sandbox config: ${problems.join("; ")}`);
  }
  return parsed.data;
}

export function resolveLimits(...layers: Array<Partial<SandboxLimits> | undefined>): SandboxLimits {
  const out: SandboxLimits = { ...DEFAULT_LIMITS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (out as Record<string, number>)[k] = v;
  }
  return out;
}
