// Which parts of `input` a set of modules can read, found statically from their AST. Callers use
// it to key caches on exactly the input a decision can depend on: a path lists the constant
// string keys of an `input.a.b` reference up to its first non-constant element (whatever lies
// below that point may be read). A bare `input` (passed whole, walked, compared) means every
// field may be read: the result is then `undefined`.
import type { Expr, Module, Rule, Term } from "./ast.js";

/** Paths below `input` the modules may read; `undefined` when they may read all of it. */
export type InputPaths = string[][] | undefined;

class Collector {
  readonly paths: string[][] = [];
  whole = false;

  constructor(private readonly aliases: Map<string, string[]>) {}

  add(path: string[]): void {
    if (path.length === 0) this.whole = true;
    else this.paths.push(path);
  }

  term(t: Term): void {
    if (this.whole) return;
    switch (t.t) {
      case "scalar":
        return;
      case "var": {
        const base = this.base(t.name);
        if (base) this.add(base);
        return;
      }
      case "ref": {
        const base = t.head.t === "var" ? this.base(t.head.name) : undefined;
        if (base) {
          const path = [...base];
          for (const p of t.path) {
            if (p.t !== "scalar" || typeof p.v !== "string") break;
            path.push(p.v);
          }
          this.add(path);
        } else this.term(t.head);
        for (const p of t.path) this.term(p);
        return;
      }
      case "array":
      case "set":
        for (const x of t.items) this.term(x);
        return;
      case "object":
        for (const [k, v] of t.pairs) {
          this.term(k);
          this.term(v);
        }
        return;
      case "call":
        this.term(t.op);
        for (const a of t.args) this.term(a);
        return;
      case "arraycomp":
      case "setcomp":
        this.term(t.term);
        this.body(t.body);
        return;
      case "objcomp":
        this.term(t.key);
        this.term(t.value);
        this.body(t.body);
        return;
      case "template":
        for (const p of t.parts) if (typeof p !== "string") this.expr(p);
        return;
    }
  }

  /** The input path a variable name stands for: `input` itself or an alias imported from it. */
  private base(name: string): string[] | undefined {
    if (name === "input") return [];
    return this.aliases.get(name);
  }

  body(exprs: Expr[]): void {
    for (const e of exprs) this.expr(e);
  }

  expr(e: Expr): void {
    switch (e.k) {
      case "term":
        this.term(e.term);
        break;
      case "unify":
      case "assign":
        this.term(e.a);
        this.term(e.b);
        break;
      case "some":
        break;
      case "somein":
        if (e.key) this.term(e.key);
        this.term(e.value);
        this.term(e.coll);
        break;
      case "every":
        if (e.key) this.term(e.key);
        this.term(e.value);
        this.term(e.domain);
        this.body(e.body);
        break;
      case "body":
        this.body(e.body);
        break;
    }
    // `with input.x as v` replaces input below it: the target is written, not read; the value is read.
    for (const w of e.with) this.term(w.value);
  }

  rule(r: Rule): void {
    for (const t of r.head.ref) this.term(t);
    for (const a of r.head.args ?? []) this.term(a);
    if (r.head.key) this.term(r.head.key);
    if (r.head.value) this.term(r.head.value);
    this.body(r.body);
    if (r.else) this.rule(r.else);
  }
}

/** Aliases a module imports from input (`import input.request as req` → req = ["request"]). */
function inputAliases(mod: Module): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const imp of mod.imports) {
    const t = imp.path;
    const head = t.t === "ref" ? t.head : t;
    if (head.t !== "var" || head.name !== "input") continue;
    const path: string[] = [];
    if (t.t === "ref")
      for (const p of t.path) {
        if (p.t !== "scalar" || typeof p.v !== "string") break;
        path.push(p.v);
      }
    const alias = imp.alias ?? path[path.length - 1] ?? "input";
    out.set(alias, path);
  }
  return out;
}

/**
 * Every `input` path the modules can read, reduced to the shortest covering set (a path whose
 * prefix is listed is dropped) and sorted; `undefined` when the whole input can be read.
 */
export function referencedInputPaths(modules: readonly Module[]): InputPaths {
  const all: string[][] = [];
  for (const mod of modules) {
    const c = new Collector(inputAliases(mod));
    for (const r of mod.rules) c.rule(r);
    if (c.whole) return undefined;
    all.push(...c.paths);
  }
  all.sort((a, b) => a.length - b.length);
  const kept: string[][] = [];
  for (const p of all)
    if (!kept.some((k) => k.length <= p.length && k.every((s, i) => s === p[i]))) kept.push(p);
  return kept.sort((a, b) => (a.join("\0") < b.join("\0") ? -1 : 1));
}
