// Loads policy files the way `opa eval -d` / `opa test` do: directories are walked
// recursively; *.rego files are modules; *.json / *.yaml / *.yml files are data documents
// merged under `data` at their directory's path relative to the given root.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { parse as parseYAML } from "yaml";

export class LoadError extends Error {}

export interface LoadedFiles {
  modules: { name: string; source: string }[];
  data: Record<string, unknown>;
}

const SKIP_DIRS = new Set([".git", "node_modules"]);

function walk(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (SKIP_DIRS.has(name)) continue;
      walk(join(path, name), out);
    }
  } else out.push(path);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Deep merge of data documents; a conflict between two non-objects is an error. */
function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>, where: string): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = target[k];
    if (cur === undefined) target[k] = v;
    else if (isPlainObject(cur) && isPlainObject(v)) mergeInto(cur, v, `${where}.${k}`);
    else throw new LoadError(`${where}.${k}: merge error: conflicting data documents`);
  }
}

function parseData(file: string, text: string, json = extname(file) === ".json"): unknown {
  try {
    if (json) {
      return JSON.parse(text, function (this: unknown, _k, v, ctx?: { source?: string }) {
        // keep integers beyond 2^53 exact
        if (typeof v === "number" && !Number.isSafeInteger(v) && ctx?.source && /^-?\d+$/.test(ctx.source)) {
          return BigInt(ctx.source);
        }
        return v;
      } as (this: unknown, k: string, v: unknown) => unknown);
    }
    return parseYAML(text, { intAsBigInt: false });
  } catch (e) {
    throw new LoadError(`${file}: cannot parse data file: ${(e as Error).message}`);
  }
}

export function loadPaths(paths: string[]): LoadedFiles {
  const modules: LoadedFiles["modules"] = [];
  const data: Record<string, unknown> = {};
  for (const root of paths) {
    let files: string[] = [];
    try {
      walk(root, files);
    } catch (e) {
      throw new LoadError(
        `${root}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`,
      );
    }
    const rootIsDir = statSync(root).isDirectory();
    files = files.filter((f) => [".rego", ".json", ".yaml", ".yml"].includes(extname(f)));
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      if (extname(file) === ".rego") {
        modules.push({ name: file, source: text });
        continue;
      }
      const doc = parseData(file, text);
      // Data goes under data.<dir path relative to the root>.
      const dir = rootIsDir ? relative(root, join(file, "..")) : "";
      const segs = dir === "" ? [] : dir.split(sep);
      let wrapped: unknown = doc;
      for (let i = segs.length - 1; i >= 0; i--) wrapped = { [segs[i]]: wrapped };
      if (!isPlainObject(wrapped))
        throw new LoadError(`${file}: a data file at the root must hold an object`);
      mergeInto(data, wrapped, "data");
    }
  }
  return { modules, data };
}

/** Reads an input document (JSON or YAML by extension; `-` is stdin). */
export function loadInput(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    throw new LoadError(
      `${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`,
    );
  }
  const ext = extname(path);
  if (ext === ".yaml" || ext === ".yml") return parseData(path, text);
  return parseData(path, text, true);
}
