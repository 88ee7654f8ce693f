// Embedded Rego backend (the default): compiles the .rego modules and data files under the
// configured paths with warden's own Rego engine (src/rego) and evaluates the decision rule.
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import { compilePolicy, RegoError, referencedInputPaths, toJS } from "../../rego/index.js";
import { type LoadedPolicy, type PolicyBackend, versionHash } from "../backend.js";
import { PolicyDecisionError } from "../decision.js";

export interface RegoBackendOptions {
  /** Files or folders: *.rego modules (tests, *_test.rego, are skipped) and *.json/*.yaml data files, merged under `data` at their folder path (as `opa eval -d`). */
  paths: string[];
  /** Decision rule path (default "warden/decision"). */
  entrypoint?: string;
  /** Extra base documents merged under `data`. */
  data?: Record<string, unknown>;
}

interface Source {
  name: string;
  content: string;
}

async function collect(root: string, isRoot = true): Promise<string[]> {
  const st = await stat(root).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`policy path ${root}: ${err.code === "ENOENT" ? "does not exist" : err.message}`);
  });
  if (!st.isDirectory()) return [root];
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (e.name.startsWith(".")) continue;
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...(await collect(p, false)));
    else out.push(p);
  }
  return isRoot ? out.sort() : out;
}

function isDataFile(file: string): boolean {
  return /\.(json|ya?ml)$/.test(file);
}

/** Places a data file's document at the folder path below its root, as `opa eval -d` does. */
function mergeAt(target: Record<string, unknown>, path: string[], doc: unknown, file: string): void {
  let cur = target;
  for (const p of path) {
    const next = cur[p];
    if (next === undefined) cur[p] = {};
    else if (typeof next !== "object" || next === null || Array.isArray(next))
      throw new Error(`${file}: data path ${path.join(".")} collides with a non-object value`);
    cur = cur[p] as Record<string, unknown>;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new Error(`${file}: a data file must hold an object`);
  for (const [k, v] of Object.entries(doc)) {
    if (k in cur) throw new Error(`${file}: data key ${[...path, k].join(".")} is defined twice`);
    cur[k] = v;
  }
}

export function regoBackend(opts: RegoBackendOptions): PolicyBackend {
  const entrypoint = (opts.entrypoint ?? "warden/decision").replace(/\//g, ".");
  const pkg = entrypoint.split(".").slice(0, -1).join(".");
  return {
    kind: "rego",
    watchPaths: () => opts.paths,
    async load(): Promise<LoadedPolicy> {
      const modules: Source[] = [];
      const dataSources: Source[] = [];
      const data: Record<string, unknown> = {};
      for (const root of opts.paths) {
        const rootIsDir = (await stat(root).catch(() => undefined))?.isDirectory() ?? false;
        for (const file of await collect(root)) {
          const ext = extname(file);
          if (ext === ".rego") {
            if (file.endsWith("_test.rego")) continue;
            modules.push({ name: file, content: await readFile(file, "utf8") });
          } else if (isDataFile(file)) {
            const text = await readFile(file, "utf8");
            dataSources.push({ name: file, content: text });
            let doc: unknown;
            try {
              doc = ext === ".json" ? JSON.parse(text) : parseYaml(text);
            } catch (err) {
              throw new Error(`${file}: ${(err as Error).message}`);
            }
            const dir = rootIsDir ? relative(root, file).split(sep).slice(0, -1) : [];
            mergeAt(data, dir, doc, file);
          }
        }
      }
      if (modules.length === 0) throw new Error(`no .rego policy modules found in ${opts.paths.join(", ")}`);
      if (opts.data) for (const [k, v] of Object.entries(opts.data)) data[k] = v;
      // Parse/compile errors carry file:line:col; they reject the load and keep the last good policy.
      const policy = compilePolicy({
        modules: modules.map((m) => ({ name: m.name, source: m.content })),
        data,
      });
      const declared = policy.modules.map((m) => m.pkg.join("."));
      if (pkg && !declared.some((p) => p === pkg || p.startsWith(`${pkg}.`)))
        throw new Error(
          `decision rule data.${entrypoint}: no module declares package ${pkg} (found: ${[...new Set(declared)].join(", ")})`,
        );
      const decide = policy.prepareRule(`data.${entrypoint}`);
      const version = versionHash([
        ...modules,
        ...dataSources,
        { name: "<options>", content: JSON.stringify(opts.data ?? {}) },
      ]);
      return {
        version,
        synchronous: true,
        inputPaths: referencedInputPaths(policy.modules),
        evaluate(input) {
          try {
            const v = decide.eval(input);
            return v === undefined ? undefined : toJS(v);
          } catch (err) {
            if (err instanceof RegoError && err.code === "eval_conflict_error")
              throw new PolicyDecisionError("conflict", err.message);
            throw err;
          }
        },
      };
    },
  };
}
