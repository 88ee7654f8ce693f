// Maps a user tool's call arguments onto argv and stdin, refusing anything ambiguous.
import type { SandboxToolConfig } from "./config.js";

export class ToolArgumentError extends Error {
  override name = "ToolArgumentError";
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const SPREAD = /^\{\.\.\.([A-Za-z_][A-Za-z0-9_]*)\}$/;

function scalar(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  if (value === undefined) throw new ToolArgumentError(`missing argument "${name}"`);
  throw new ToolArgumentError(`argument "${name}" must be a string, number or boolean`);
}

/** Checks the `required` list and primitive `type`s of the tool's JSON Schema. */
export function checkArguments(schema: Record<string, unknown>, args: Record<string, unknown>): void {
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  for (const name of required) {
    if (args[name] === undefined) throw new ToolArgumentError(`missing required argument "${name}"`);
  }
  const props = (schema.properties ?? {}) as Record<string, { type?: string }>;
  for (const [name, value] of Object.entries(args)) {
    const type = props[name]?.type;
    if (!type || value === undefined) continue;
    const actual = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
    const ok = type === actual || (type === "integer" && Number.isInteger(value));
    if (!ok) throw new ToolArgumentError(`argument "${name}" must be of type ${type}, got ${actual}`);
  }
}

/** Builds argv (program name first) from the tool's `args` template. */
export function buildArgv(tool: SandboxToolConfig, args: Record<string, unknown>): string[] {
  const argv = [tool.name];
  for (const part of tool.args) {
    const spread = SPREAD.exec(part);
    if (spread) {
      const value = args[spread[1]];
      if (value === undefined) continue;
      if (!Array.isArray(value)) throw new ToolArgumentError(`argument "${spread[1]}" must be an array`);
      argv.push(...value.map((v, i) => scalar(`${spread[1]}[${i}]`, v)));
      continue;
    }
    argv.push(part.replace(PLACEHOLDER, (_m, name: string) => scalar(name, args[name])));
  }
  return argv;
}

export function stdinFor(tool: SandboxToolConfig, args: Record<string, unknown>): string | undefined {
  if (!tool.stdinFrom) return undefined;
  const value = args[tool.stdinFrom];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ToolArgumentError(`argument "${tool.stdinFrom}" must be a string`);
  return value;
}
