// Loads warden.yaml: YAML → zod validation → reference resolution (${env:NAME}, ${configDir}, ${bin:pkg}).
// Errors name the file, the path in the document and what was expected.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import {
  buildRootSchema,
  coreSections,
  presentSections,
  registeredSections,
  serverSchemaFor,
  type WardenConfig,
} from "./schema.js";

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: Array<{ path: string; message: string }>,
  ) {
    super(
      `invalid configuration in ${file}:\n${issues.map((i) => `  - ${i.path || "(root)"}: ${i.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

export interface LoadedConfig {
  /** Absolute path of the file, or "<inline>" for configs passed as objects. */
  file: string;
  /** Folder relative paths in the config are resolved against. */
  baseDir: string;
  /** Validated config with references resolved (contains secrets: never log it). */
  config: WardenConfig;
  /** Same shape, with every value that came from ${env:...} replaced by its reference (safe to print). */
  masked: WardenConfig;
  /** Top-level sections no registered schema validated. */
  unvalidatedSections: string[];
}

export function pathToString(p: ReadonlyArray<PropertyKey>): string {
  return p
    .map((s) => (typeof s === "number" ? `[${s}]` : String(s)))
    .join(".")
    .replace(/\.\[/g, "[");
}

function zodIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((i) => ({ path: pathToString(i.path), message: expectation(i) }));
}

function expectation(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys")
    return `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
  const m = issue.message;
  // Our own messages describe the expectation ("an http(s) URL"); zod's are sentences ("Too big: ...").
  if (/^[a-z]/.test(m)) return m.startsWith("expected") ? m : `expected ${m}`;
  return m.replace(/^Invalid input: /, "");
}

export function loadConfigFile(file: string): LoadedConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (err) {
    throw new ConfigError(abs, [
      { path: "", message: `cannot read file (${(err as NodeJS.ErrnoException).code ?? err})` },
    ]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true }) ?? {};
  } catch (err) {
    throw new ConfigError(abs, [
      { path: "", message: `not valid YAML: ${(err as Error).message.split("\n")[0]}` },
    ]);
  }
  return parseConfig(doc, { file: abs, baseDir: path.dirname(abs) });
}

export function parseConfig(doc: unknown, opts: { file?: string; baseDir?: string } = {}): LoadedConfig {
  const file = opts.file ?? "<inline>";
  const baseDir = opts.baseDir ?? process.cwd();
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(file, [
      { path: "", message: "expected a mapping of sections (servers, http, ...)" },
    ]);
  }
  const result = buildRootSchema().safeParse(doc);
  const issues: Array<{ path: string; message: string }> = result.success ? [] : zodIssues(result.error);
  // Servers are validated one by one with the schema of their kind, even if other sections failed.
  const rawServers = (doc as Record<string, unknown>).servers;
  const servers: Record<string, unknown> = {};
  if (rawServers && typeof rawServers === "object" && !Array.isArray(rawServers)) {
    for (const [name, raw] of Object.entries(rawServers)) {
      const schema = serverSchemaFor(raw);
      if (!schema) {
        issues.push({
          path: `servers.${name}`,
          message:
            "expected a server with `command` (stdio), `url` (remote) or `builtin` (in-process provider)",
        });
        continue;
      }
      const r = schema.safeParse(raw);
      if (r.success) servers[name] = r.data;
      else
        for (const i of zodIssues(r.error))
          issues.push({ path: `servers.${name}${i.path ? `.${i.path}` : ""}`, message: i.message });
    }
  }
  const sections: Record<string, unknown> = {};
  for (const [name, schema] of presentSections(doc as Record<string, unknown>)) {
    const r = schema.safeParse((doc as Record<string, unknown>)[name]);
    if (r.success) sections[name] = r.data;
    else
      for (const i of zodIssues(r.error))
        issues.push({ path: `${name}${i.path ? `.${i.path}` : ""}`, message: i.message });
  }
  if (issues.length || !result.success) throw new ConfigError(file, issues);
  const validated = { ...result.data, ...sections, servers } as WardenConfig;
  for (const name of Object.keys(validated.servers)) {
    if (name.includes(validated.namespace.separator)) {
      issues.push({
        path: `servers.${name}`,
        message: `a server name without the namespace separator '${validated.namespace.separator}'`,
      });
    }
  }
  const ctx: ResolveCtx = { baseDir, issues, require: createRequire(path.join(baseDir, "warden.yaml")) };
  const config = structuredClone(validated);
  const masked = structuredClone(validated);
  for (const [name, server] of Object.entries(config.servers)) {
    resolveStrings(
      server as unknown as Record<string, unknown>,
      masked.servers[name] as unknown as Record<string, unknown>,
      `servers.${name}`,
      ctx,
    );
    if ("command" in server && server.command === "node") server.command = process.execPath;
    if ("cwd" in server && server.cwd) server.cwd = path.resolve(baseDir, server.cwd);
    if ("createDirs" in server) server.createDirs = server.createDirs.map((d) => path.resolve(baseDir, d));
  }
  if (issues.length) throw new ConfigError(file, issues);
  for (const server of Object.values(masked.servers))
    maskLiteralSecrets(server as unknown as Record<string, unknown>);
  const known = new Set<string>([...Object.keys(coreSections), ...registeredSections()]);
  const unvalidatedSections = Object.keys(config).filter((k) => !known.has(k));
  return { file, baseDir, config, masked, unvalidatedSections };
}

interface ResolveCtx {
  baseDir: string;
  issues: Array<{ path: string; message: string }>;
  require: NodeJS.Require;
}

const REF = /\$\{(env|bin|configDir)(?::([^}]*))?\}/g;

/** Replaces references in every string of `obj` in place; `maskedObj` keeps ${env:...} refs unresolved. */
function resolveStrings(
  obj: Record<string, unknown>,
  maskedObj: Record<string, unknown>,
  at: string,
  ctx: ResolveCtx,
) {
  for (const [key, value] of Object.entries(obj)) {
    const here = `${at}.${key}`;
    if (typeof value === "string") {
      let secret = false;
      const resolved = value.replace(REF, (_m, kind: string, arg: string | undefined) => {
        if (kind === "configDir") return ctx.baseDir;
        if (kind === "env") {
          secret = true;
          const v = arg ? process.env[arg] : undefined;
          if (v === undefined)
            ctx.issues.push({ path: here, message: `environment variable '${arg}' is not set` });
          return v ?? "";
        }
        return resolveBin(arg ?? "", here, ctx);
      });
      obj[key] = resolved;
      maskedObj[key] = secret ? value : resolved;
    } else if (value && typeof value === "object") {
      resolveStrings(value as Record<string, unknown>, maskedObj[key] as Record<string, unknown>, here, ctx);
    }
  }
}

const wardenRequire = createRequire(import.meta.url);

const SECRET_NAME = /auth|token|secret|password|passwd|key|cookie|credential/i;

/** Header and env values whose names look secret are masked even when written literally. */
function maskLiteralSecrets(server: Record<string, unknown>) {
  for (const field of ["headers", "env"]) {
    const map = server[field] as Record<string, string> | undefined;
    if (!map) continue;
    for (const [k, v] of Object.entries(map)) {
      if (SECRET_NAME.test(k) && !/\$\{env:[^}]+\}/.test(v)) map[k] = "***";
    }
  }
}

/** ${bin:package} → absolute path of the package's (first) bin script; ${bin:package/name} picks a named bin. */
function resolveBin(spec: string, at: string, ctx: ResolveCtx): string {
  const parts = spec.split("/");
  const pkg = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  const binName = parts.slice(spec.startsWith("@") ? 2 : 1).join("/") || undefined;
  try {
    let pkgJsonPath: string;
    try {
      pkgJsonPath = ctx.require.resolve(`${pkg}/package.json`);
    } catch {
      // Fall back to packages installed with warden itself (the embedded default servers).
      pkgJsonPath = wardenRequire.resolve(`${pkg}/package.json`);
    }
    const pkgJson = JSON.parse(readFileSync(pkgJsonPath, "utf8")) as {
      bin?: string | Record<string, string>;
    };
    const bin =
      typeof pkgJson.bin === "string"
        ? pkgJson.bin
        : binName
          ? pkgJson.bin?.[binName]
          : Object.values(pkgJson.bin ?? {})[0];
    if (!bin) throw new Error("no bin entry");
    return path.resolve(path.dirname(pkgJsonPath), bin);
  } catch (err) {
    ctx.issues.push({
      path: at,
      message: `an installed package with a bin script for \${bin:${spec}} (${(err as Error).message.split("\n")[0]})`,
    });
    return "";
  }
}

/** --env flag, then WARDEN_ENV, then the config's `environment` (default "dev"). */
export function selectEnvironment(config: WardenConfig, cliEnv?: string): string {
  const env = cliEnv ?? process.env.WARDEN_ENV ?? config.environment;
  if (!/^[A-Za-z0-9_-]+$/.test(env))
    throw new Error(`invalid environment name '${env}': letters, digits, '_' and '-' only`);
  return env;
}
