// The environment's tool registry (tool-registry/<env>.yaml): which servers and tools are exposed,
// and the per-tool metadata later stages use. Anything not listed is invisible and uncallable.
import { readFileSync } from "node:fs";
import path from "node:path";
import picomatch from "picomatch";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, pathToString } from "../config/load.js";
import type { ToolMeta } from "../pipeline/types.js";

const toolEntry = z.union([
  z.string().min(1),
  z.strictObject({
    /** Tool name or glob (picomatch syntax: *, ?, [abc], {a,b}). */
    name: z.string().min(1),
    risk: z.enum(["low", "medium", "high", "critical"]).optional(),
    labels: z.array(z.string()).optional(),
    requires_approval: z.boolean().optional(),
    sandbox: z.string().optional(),
    /** Extra metadata copied onto ToolMeta for other stages. */
    meta: z.record(z.string(), z.unknown()).optional(),
  }),
]);

export const registryFileSchema = z.strictObject({
  description: z.string().optional(),
  defaults: z
    .strictObject({
      risk: z.enum(["low", "medium", "high", "critical"]).default("medium"),
      labels: z.array(z.string()).default([]),
      requires_approval: z.boolean().default(false),
    })
    .prefault({}),
  servers: z.record(
    z.string(),
    z.strictObject({
      tools: z.array(toolEntry).default([]),
    }),
  ),
});

export type RegistryFile = z.infer<typeof registryFileSchema>;

interface CompiledEntry {
  match: (name: string) => boolean;
  meta: ToolMeta;
}

export class ToolRegistry {
  private readonly perServer = new Map<string, CompiledEntry[]>();
  /** Lookups are on the hot path of every call: cache them (tool sets are small and stable). */
  private readonly cache = new Map<string, ToolMeta | null>();

  constructor(
    readonly environment: string,
    readonly source: string,
    file: RegistryFile,
  ) {
    for (const [server, spec] of Object.entries(file.servers)) {
      const entries: CompiledEntry[] = spec.tools.map((t) => {
        const e = typeof t === "string" ? { name: t } : t;
        const meta: ToolMeta = {
          ...(typeof t === "string" ? {} : (t.meta ?? {})),
          risk: (typeof t === "string" ? undefined : t.risk) ?? file.defaults.risk,
          labels: (typeof t === "string" ? undefined : t.labels) ?? file.defaults.labels,
          requiresApproval:
            (typeof t === "string" ? undefined : t.requires_approval) ?? file.defaults.requires_approval,
        };
        if (typeof t !== "string" && t.sandbox) meta.sandbox = t.sandbox;
        const isGlob = picomatch.scan(e.name).isGlob;
        return { match: isGlob ? picomatch(e.name, { dot: true }) : (n: string) => n === e.name, meta };
      });
      this.perServer.set(server, entries);
    }
  }

  /** Servers this environment exposes. */
  servers(): string[] {
    return [...this.perServer.keys()];
  }

  exposesServer(server: string): boolean {
    return this.perServer.has(server);
  }

  /** Metadata of a listed tool (first matching entry wins), or undefined when the tool is not exposed. */
  lookup(server: string, tool: string): ToolMeta | undefined {
    const key = `${server}\u0000${tool}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const entry = this.perServer.get(server)?.find((e) => e.match(tool));
    this.cache.set(key, entry?.meta ?? null);
    return entry?.meta;
  }
}

export function loadRegistry(dir: string, environment: string): ToolRegistry {
  const file = path.join(dir, `${environment}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ConfigError(file, [
      {
        path: "",
        message: `a tool registry for environment '${environment}' (file not found; create ${environment}.yaml)`,
      },
    ]);
  }
  return parseRegistry(text, environment, file);
}

export function parseRegistry(text: string | object, environment: string, source = "<inline>"): ToolRegistry {
  let doc: unknown = text;
  if (typeof text === "string") {
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError(source, [
        { path: "", message: `not valid YAML: ${(err as Error).message.split("\n")[0]}` },
      ]);
    }
  }
  const result = registryFileSchema.safeParse(doc ?? {});
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((i) => ({ path: pathToString(i.path), message: i.message })),
    );
  }
  return new ToolRegistry(environment, source, result.data);
}
