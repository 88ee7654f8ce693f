// Builds the QuickJS evaluator component (componentize-qjs) and transpiles it with jco,
// once per content hash, into a cache directory. Build outputs are never committed.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);

/** The guest: evaluates code as a script, captures console output, returns JSON. */
export const QJS_GUEST_SOURCE = `
const fmt = (v) => {
  if (typeof v === "string") return v;
  try { const s = JSON.stringify(v); return s === undefined ? String(v) : s; } catch { return String(v); }
};
export function evaluate(code, inputJson, maxOutputBytes) {
  const stdout = [];
  const stderr = [];
  let bytes = 0;
  let outputLimit = false;
  const writer = (sink) => (...args) => {
    const line = args.map(fmt).join(" ");
    bytes += line.length + 1;
    if (outputLimit || bytes > maxOutputBytes) {
      outputLimit = true;
      throw new Error("output limit exceeded");
    }
    sink.push(line);
  };
  globalThis.console = { log: writer(stdout), info: writer(stdout), debug: writer(stdout), warn: writer(stderr), error: writer(stderr) };
  globalThis.input = inputJson === "" ? undefined : JSON.parse(inputJson);
  let result;
  let error;
  try {
    result = (0, eval)(code);
  } catch (e) {
    error = e instanceof Error ? e.name + ": " + e.message : "uncaught: " + fmt(e);
  }
  let resultJson;
  try { resultJson = result === undefined ? undefined : JSON.stringify(result); } catch { resultJson = JSON.stringify(String(result)); }
  return JSON.stringify({ stdout: stdout.join("\\n"), stderr: stderr.join("\\n"), result: resultJson, error, outputLimit });
}
`;

export const QJS_GUEST_WIT = `package warden:sandbox;

world evaluator {
  export evaluate: func(code: string, input-json: string, max-output-bytes: u32) -> string;
}
`;

export function defaultCacheDir(): string {
  return (
    process.env.WARDEN_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "mcp-warden", "sandbox")
  );
}

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export interface QuickJsBuild {
  dir: string;
  /** Core module file name -> bytes, as jco split them out. */
  coreModules: Record<string, Uint8Array>;
}

const inflight = new Map<string, Promise<QuickJsBuild>>();

/** Returns the transpiled evaluator, building it on first use (about a second). */
export function ensureQuickJsBuild(cacheDir = defaultCacheDir()): Promise<QuickJsBuild> {
  const hash = createHash("sha256")
    .update(QJS_GUEST_SOURCE)
    .update(QJS_GUEST_WIT)
    .update(packageVersion("componentize-qjs"))
    .update(packageVersion("@bytecodealliance/jco"))
    .digest("hex")
    .slice(0, 16);
  const dir = join(cacheDir, `qjs-${hash}`);
  let p = inflight.get(dir);
  if (!p) {
    p = build(dir);
    inflight.set(dir, p);
    p.catch(() => inflight.delete(dir));
  }
  return p;
}

async function load(dir: string): Promise<QuickJsBuild> {
  const coreModules: Record<string, Uint8Array> = {};
  for (const f of await readdir(dir)) {
    if (f.endsWith(".wasm")) coreModules[f] = new Uint8Array(await readFile(join(dir, f)));
  }
  return { dir, coreModules };
}

async function build(dir: string): Promise<QuickJsBuild> {
  const done = await stat(join(dir, "evaluator.js")).then(
    () => true,
    () => false,
  );
  if (done) return load(dir);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    const { componentize } = (await import("componentize-qjs")) as typeof import("componentize-qjs");
    const { transpile } = await import("@bytecodealliance/jco");
    await writeFile(join(tmp, "evaluator.wit"), QJS_GUEST_WIT);
    const { component } = await componentize({
      witPath: join(tmp, "evaluator.wit"),
      jsSource: QJS_GUEST_SOURCE,
      sync: true,
    });
    const out = await transpile(component, {
      name: "evaluator",
      instantiation: "sync",
      noTypescript: true,
      quiet: true,
      wasiShim: false,
    });
    for (const [file, bytes] of Object.entries(out.files)) {
      if (file.includes("/")) continue; // type declarations only
      await writeFile(join(tmp, file), bytes);
    }
    await mkdir(join(dir, ".."), { recursive: true });
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another process finished the same build first: its output is identical, keep it.
      if (
        (err as NodeJS.ErrnoException).code !== "ENOTEMPTY" &&
        (err as NodeJS.ErrnoException).code !== "EEXIST"
      )
        throw err;
      await rm(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw new Error(`cannot build the QuickJS runtime: ${(err as Error).message}`);
  }
  return load(dir);
}
