// Runs OPA conformance YAML cases (format: see docs/rego.md and the suite's README) against
// the embedded engine, with the reference runner's pass/fail rules.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { parse } from "yaml";
import {
  compare,
  compilePolicy,
  equal,
  fromJS,
  makeSet,
  RObject,
  termValue,
  toJSONValue,
  type Value,
} from "../index.js";

export interface CaseResult {
  file: string;
  index: number;
  note: string;
  category: string;
  cls: string;
  pass: boolean;
  reason?: string;
}

interface Case {
  note: string;
  query: string;
  modules?: string[];
  data?: unknown;
  input?: unknown;
  input_term?: string;
  want_result?: unknown[];
  want_error?: string;
  want_error_code?: string;
  strict_error?: boolean;
  sort_bindings?: boolean;
  ignore_generated_vars?: boolean;
}

interface ManifestEntry {
  path: string;
  category: string;
  class: string;
}

export function findCaseFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith(".yaml") || f.endsWith(".yml")) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** Load manifest.json from the directory or one of its parents (category → class). */
export function loadClasses(dir: string): Map<string, string> {
  const classes = new Map<string, string>();
  let d = dir;
  for (let i = 0; i < 3; i++) {
    const m = join(d, "manifest.json");
    if (existsSync(m)) {
      const raw = JSON.parse(readFileSync(m, "utf8"));
      const entries: ManifestEntry[] = Array.isArray(raw) ? raw : (raw.files ?? raw.entries ?? []);
      for (const e of entries) if (e.category && e.class) classes.set(e.category, e.class);
      break;
    }
    d = dirname(d);
  }
  return classes;
}

function categoryOf(root: string, file: string): string {
  const rel = relative(root, file).split(sep);
  return rel.length > 1 ? rel[rel.length - 2] : "(root)";
}

export function runCase(c: Case): { pass: boolean; reason?: string } {
  let results: Record<string, Value>[] = [];
  let error: { code?: string; message: string } | undefined;
  let generated = new Set<string>();
  try {
    const policy = compilePolicy({
      modules: (c.modules ?? []).map((source, i) => ({ name: `test-${i}.rego`, source })),
      data: c.data,
    });
    const input: Value | undefined =
      c.input_term !== undefined
        ? termValue(c.input_term)
        : c.input === undefined
          ? undefined
          : fromJS(c.input);
    const r = policy
      .prepareQuery(c.query)
      .eval({ input, inputIsValue: true, strict: !!c.strict_error, print: () => {} });
    results = r.results;
    generated = r.generated;
    if (r.error) error = { code: r.error.code, message: r.error.message };
  } catch (e) {
    const err = e as Error & { code?: string };
    error = { code: err.name === "RegoError" ? err.code : undefined, message: err.message };
    if (err.name !== "RegoError" && err.name !== "RegoCompileError" && err.name !== "RegoSyntaxError")
      error.message = process.env.REGO_DEBUG ? String(err.stack) : `${err.name}: ${err.message}`;
  }
  if (c.want_error !== undefined) {
    if (!error)
      return { pass: false, reason: `expected error containing ${JSON.stringify(c.want_error)}, got none` };
    if (!error.message.includes(c.want_error))
      return {
        pass: false,
        reason: `expected error containing ${JSON.stringify(c.want_error)}, got: ${error.message}`,
      };
  }
  if (c.want_error_code !== undefined) {
    if (!error) return { pass: false, reason: `expected error code ${c.want_error_code}, got none` };
    if (error.code !== c.want_error_code)
      return { pass: false, reason: `expected error code ${c.want_error_code}, got: ${error.message}` };
  }
  if (error && c.want_error === undefined && c.want_error_code === undefined)
    return { pass: false, reason: `unexpected error: ${error.message}` };
  if (c.want_result !== undefined) {
    const actual = results.map((row) => {
      const o = new RObject();
      for (const [k, v] of Object.entries(row)) {
        if (c.ignore_generated_vars && (generated.has(k) || k.startsWith("__localq"))) continue;
        let jv = toJSONValue(v);
        if (c.sort_bindings && Array.isArray(jv)) jv = [...jv].sort(compare);
        o.set(k, jv);
      }
      return o as Value;
    });
    const expected = (c.want_result ?? []).map((r) => fromJS(r));
    const a = makeSet(actual);
    const e = makeSet(expected);
    if (!equal(a, e)) {
      const show = (v: Value[]) => JSON.stringify(v.map((x) => JSON.parse(toJSONTextSafe(x))));
      return { pass: false, reason: `result mismatch: got ${show(actual)}, want ${show(expected)}` };
    }
  }
  return { pass: true };
}

function toJSONTextSafe(v: Value): string {
  return JSON.stringify(
    JSON.parse(
      JSON.stringify(v, (_k, x) =>
        typeof x === "bigint"
          ? x.toString()
          : x instanceof RObject
            ? Object.fromEntries([...x.entries()].map(([k, y]) => [String(k), y]))
            : x,
      ),
    ),
  );
}

export function runSuite(dir: string, filter?: (file: string) => boolean): CaseResult[] {
  const classes = loadClasses(dir);
  const out: CaseResult[] = [];
  for (const file of findCaseFiles(dir)) {
    if (filter && !filter(file)) continue;
    const category = categoryOf(dir, file);
    const cls = classes.get(category) ?? "unclassified";
    let doc: { cases?: Case[] };
    try {
      doc = parse(readFileSync(file, "utf8"), { intAsBigInt: true }) as { cases?: Case[] };
    } catch (e) {
      out.push({
        file,
        index: 0,
        note: "(file)",
        category,
        cls,
        pass: false,
        reason: `bad YAML: ${(e as Error).message}`,
      });
      continue;
    }
    (doc?.cases ?? []).forEach((c, index) => {
      let r: { pass: boolean; reason?: string };
      try {
        r = runCase(c);
      } catch (e) {
        r = { pass: false, reason: `runner crash: ${(e as Error).stack ?? e}` };
      }
      out.push({
        file: relative(dir, file),
        index,
        note: String(c.note),
        category,
        cls,
        pass: r.pass,
        reason: r.reason,
      });
    });
  }
  return out;
}

/** Per-class (and overall) pass counts. */
export function summarize(results: CaseResult[]): Record<string, { passed: number; total: number }> {
  const s: Record<string, { passed: number; total: number }> = { all: { passed: 0, total: 0 } };
  for (const r of results) {
    for (const k of ["all", r.cls]) {
      s[k] ??= { passed: 0, total: 0 };
      s[k].total++;
      if (r.pass) s[k].passed++;
    }
  }
  return s;
}

void makeSet;
void toJSONValue;
