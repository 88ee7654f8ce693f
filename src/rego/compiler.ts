// Rego compiler: modules → rule tree of closures (see ./runtime.ts).
//
// Phases per body: resolve names to frame slots / data refs / functions, order expressions
// for safety the way OPA does (greedy: the first expression whose inputs are bound goes
// next), then build continuation-passing closures. Terms whose variables are all bound
// compile to direct evaluators `(f) => Value | undefined`; only refs with unbound path
// variables and calls with output arguments enumerate.

import type { Expr, Loc, Module, Rule, Term } from "./ast.js";
import { member2 } from "./builtins/core-operators.js";
import type { BuiltinSpec } from "./builtins/types.js";
import { BuiltinError, lookupBuiltin, REPLACEABLE_ONLY_BUILTINS } from "./builtins/types.js";
import {
  type Cont,
  type CRule,
  type DataOverride,
  type Direct,
  displayText,
  type Enum,
  type Ev,
  type FnOverride,
  Frame,
  forEachEntry,
  lookup,
  lookupBase,
  newGeneration,
  patchValue,
  RegoError,
  RNode,
  stop,
} from "./runtime.js";
import { compare, equal, keyOf, type MapKey, RObject, RSet, type Value } from "./value.js";

export class RegoCompileError extends Error {
  constructor(readonly errors: { code: string; message: string; loc?: Loc }[]) {
    super(
      errors
        .map((e) =>
          e.loc ? `${e.loc.file}:${e.loc.line}: ${e.code}: ${e.message}` : `${e.code}: ${e.message}`,
        )
        .join("\n"),
    );
    this.name = "RegoCompileError";
  }
}

function compileError(code: string, message: string, loc?: Loc): never {
  throw new RegoCompileError([{ code, message, loc }]);
}

// ---------- resolved terms and expressions ----------

type FnTarget =
  | { kind: "builtin"; spec: BuiltinSpec | null; name: string }
  | { kind: "user"; node: RNode; name: string };

type RT =
  | { t: "val"; v: Value }
  | { t: "var"; s: number; name: string; wild: boolean; loc: Loc }
  | { t: "input" }
  | { t: "data" }
  | { t: "ref"; head: RT; path: RT[]; loc: Loc }
  | { t: "array"; items: RT[] }
  | { t: "object"; pairs: [RT, RT][] }
  | { t: "set"; items: RT[] }
  | { t: "call"; fn: FnTarget; args: RT[]; out: RT | null; loc: Loc }
  | { t: "print"; args: RT[]; loc: Loc }
  | {
      t: "comp";
      kind: "array" | "set" | "object";
      head: RT[];
      body: RE[];
      captured: Set<number>;
      loc: Loc;
    }
  | { t: "template"; parts: (string | RE)[]; captured: Set<number>; loc: Loc };

interface RWith {
  kind: "input" | "data" | "fn";
  path: string[];
  fnKey: string;
  value: RT;
  /** replacement function when the value names a function */
  fnValue: FnOverride | null;
  loc: Loc;
}

type RE = (
  | { k: "term"; term: RT }
  | { k: "unify"; a: RT; b: RT }
  | { k: "somein"; key: RT | null; value: RT; coll: RT }
  | { k: "every"; key: RT | null; value: RT; domain: RT; body: RE[]; captured: Set<number> }
  | { k: "body"; body: RE[]; captured: Set<number> }
  | { k: "nop" }
) & { negated: boolean; with: RWith[]; loc: Loc; vars?: VarSets };

interface VarSets {
  input: Set<number>;
  pattern: Set<number>;
  out: Set<number>;
  all: Set<number>;
}

// ---------- scopes ----------

class SlotAlloc {
  n = 0;
  names: string[] = [];
  next(name: string): number {
    this.names.push(name);
    return this.n++;
  }
}

class Scope {
  readonly names = new Map<string, number>();
  readonly captured = new Set<number>();
  readonly own = new Set<number>();
  constructor(
    readonly parent: Scope | null,
    readonly slots: SlotAlloc,
  ) {}
  declare(name: string): number {
    const s = this.slots.next(name);
    this.names.set(name, s);
    this.own.add(s);
    return s;
  }
  fresh(name: string): number {
    const s = this.slots.next(name);
    this.own.add(s);
    return s;
  }
  lookup(name: string): number | undefined {
    const s = this.names.get(name);
    if (s !== undefined) return s;
    if (!this.parent) return undefined;
    const p = this.parent.lookup(name);
    if (p !== undefined) this.captured.add(p);
    return p;
  }
}

interface ModCtx {
  mod: Module;
  pkg: string[];
  imports: Map<string, { head: "data" | "input"; path: string[] }>;
  ruleNames: Set<string>;
}

export interface CompileOptions {
  /** Extra builtins (name → spec) visible to these modules, e.g. warden's own. */
  builtins?: Map<string, BuiltinSpec>;
}

interface RuleShell {
  rule: Rule;
  ctx: ModCtx;
  crule: CRule;
  suffixTerms: Term[];
}

/** The compiled policy: the `data` rule tree plus what queries need to resolve names. */
export class CompiledPolicy {
  readonly root = new RNode([]);
  readonly deps = new Map<RNode, Set<RNode>>();
  private shells: RuleShell[] = [];
  private pkgRuleNames = new Map<string, Set<string>>();

  constructor(
    readonly modules: Module[],
    readonly opts: CompileOptions = {},
  ) {}

  builtin(name: string): BuiltinSpec | undefined {
    return this.opts.builtins?.get(name) ?? lookupBuiltin(name);
  }

  compile(): void {
    // 1. rule names per package, and the node shells
    for (const mod of this.modules) {
      const key = mod.pkg.join(".");
      let names = this.pkgRuleNames.get(key);
      if (!names) {
        names = new Set();
        this.pkgRuleNames.set(key, names);
      }
      for (const r of mod.rules) names.add((r.head.ref[0] as { name: string }).name);
    }
    for (const mod of this.modules) {
      let pn = this.root;
      for (const p of mod.pkg) pn = pn.child(p);
      pn.isPackage = true;
      const ctx = this.modCtx(mod);
      for (const rule of mod.rules) this.addShell(rule, ctx);
    }
    this.checkConflicts(this.root);
    // 2. bodies
    for (const sh of this.shells) this.compileRule(sh);
    for (const n of allNodes(this.root)) {
      const only = n.complete[0];
      if (n.complete.length === 1 && !n.dflt && n.children.size === 0 && only.constant !== undefined)
        n.constVal = only.constant;
      buildIndex(n, "complete");
      buildIndex(n, "sets");
      buildIndex(n, "objects");
    }
    // 3. recursion
    this.checkRecursion();
  }

  modCtx(mod: Module): ModCtx {
    const imports = new Map<string, { head: "data" | "input"; path: string[] }>();
    for (const imp of mod.imports) {
      const p = termPath(imp.path);
      if (p[0] !== "data" && p[0] !== "input") continue;
      if (p.length === 1 && !imp.alias) continue;
      const alias = imp.alias ?? p[p.length - 1];
      imports.set(alias, { head: p[0] as "data" | "input", path: p.slice(1) });
    }
    return { mod, pkg: mod.pkg, imports, ruleNames: this.pkgRuleNames.get(mod.pkg.join(".")) ?? new Set() };
  }

  private addShell(rule: Rule, ctx: ModCtx): void {
    const head = rule.head;
    const path = [...ctx.pkg];
    let node = this.root;
    for (const p of ctx.pkg) node = node.child(p);
    const name = (head.ref[0] as { name: string }).name;
    path.push(name);
    node = node.child(name);
    let i = 1;
    for (; i < head.ref.length; i++) {
      const t = head.ref[i];
      if (t.t === "scalar" && typeof t.v === "string") node = node.child(t.v);
      else break;
    }
    const suffixTerms = head.ref.slice(i);
    let kind: CRule["kind"];
    if (head.args) kind = "func";
    else if (suffixTerms.length > 0)
      kind = "object"; // `a[x].b contains y` too: sets at the leaves
    else if (head.key) kind = "set";
    else kind = "complete";
    if (suffixTerms.length > 0 && kind !== "object")
      compileError(
        "rego_type_error",
        `rule ${node.text} has a variable in its reference before the last position`,
        rule.loc,
      );
    const mk = (r: Rule): CRule => ({
      kind,
      node,
      nslots: 0,
      body: stop,
      suffix: [],
      key: null,
      value: null,
      constValue: false,
      params: null,
      arity: head.args?.length ?? 0,
      else: r.else ? mk(r.else) : null,
      isDefault: r.isDefault,
      loc: r.loc,
    });
    const crule = mk(rule);
    if (rule.isDefault) {
      if (node.dflt) compileError("rego_type_error", `multiple default rules ${node.text} found`, rule.loc);
      node.dflt = crule;
    } else if (kind === "func") node.funcs.push(crule);
    else if (kind === "set") node.sets.push(crule);
    else if (kind === "object") node.objects.push(crule);
    else node.complete.push(crule);
    this.shells.push({ rule, ctx, crule, suffixTerms });
  }

  private checkConflicts(node: RNode): void {
    const kinds =
      (node.complete.length > 0 ? 1 : 0) +
      (node.sets.length > 0 ? 1 : 0) +
      (node.funcs.length > 0 ? 1 : 0) +
      (node.objects.length > 0 && node.complete.length > 0 ? 1 : 0);
    if (kinds > 1) {
      const loc = (node.complete[0] ?? node.sets[0] ?? node.funcs[0])?.loc;
      compileError("rego_type_error", `conflicting rules ${node.text} found`, loc);
    }
    if ((node.complete.length > 0 || node.sets.length > 0) && node.children.size > 0) {
      const child = [...node.children.values()][0];
      const r = child.complete[0] ?? child.sets[0] ?? child.objects[0] ?? child.funcs[0] ?? node.complete[0];
      compileError("rego_type_error", `rule ${node.text} conflicts with ${child.text}`, r?.loc);
    }
    for (const c of node.children.values()) this.checkConflicts(c);
  }

  /** Attach base documents to the tree. */
  setBaseData(data: Value | undefined): void {
    const attach = (node: RNode, v: Value | undefined) => {
      node.base = v;
      for (const [name, c] of node.children) attach(c, v instanceof RObject ? v.getStr(name) : undefined);
    };
    attach(this.root, data ?? new RObject());
  }

  // ---------- rules ----------

  private compileRule(sh: RuleShell): void {
    for (
      let rule: Rule | null = sh.rule, cr: CRule | null = sh.crule;
      rule && cr;
      rule = rule.else, cr = cr.else
    ) {
      this.compileOneRule(rule, cr, sh);
    }
  }

  private compileOneRule(rule: Rule, cr: CRule, sh: RuleShell): void {
    const slots = new SlotAlloc();
    const scope = new Scope(null, slots);
    const bc = new BodyCompiler(this, sh.ctx, cr.node);
    const head = rule.head;
    // function parameters: declared and bound on entry
    const bound = new Set<number>();
    let paramRTs: RT[] = [];
    const paramChecks: RE[] = [];
    const deferred: { term: Term; slot: number }[] = [];
    if (head.args) {
      // pattern parameters bind on entry; other parameters (templates, calls, refs) become
      // equality checks at the end of the body, resolved after it (they may use body vars)
      const pnames = new Set<string>();
      for (const a of head.args) if (isAstPattern(a)) collectVarNames(a, pnames, false);
      for (const n of pnames) if (n !== "_") scope.declare(n);
      paramRTs = head.args.map((a) => {
        if (isAstPattern(a)) return bc.resolveTerm(a, scope);
        const slot = slots.next("$arg");
        deferred.push({ term: a, slot });
        return { t: "var", s: slot, name: "$arg", wild: false, loc: rule.loc } as RT;
      });
      for (const p of paramRTs) for (const s of patternVars(p)) bound.add(s);
    }
    const headTerms: Term[] = [];
    if (head.value) headTerms.push(head.value);
    if (head.key) headTerms.push(head.key);
    for (const t of sh.suffixTerms) headTerms.push(t);
    for (const d of deferred) headTerms.push(d.term);
    const body = bc.resolveBody(rule.body, scope, headTerms);
    for (const d of deferred)
      body.push({
        k: "unify",
        a: { t: "var", s: d.slot, name: "$arg", wild: false, loc: rule.loc },
        b: bc.resolveTerm(d.term, scope),
        negated: false,
        with: [],
        loc: rule.loc,
      });
    void paramChecks;
    let valueRT: RT = head.value ? bc.resolveTerm(head.value, scope) : { t: "val" as const, v: true };
    let keyRT: RT | null = head.key ? bc.resolveTerm(head.key, scope) : null;
    let suffixRT = sh.suffixTerms.map((t) => bc.resolveTerm(t, scope));
    let ordered = bc.order(body, bound, headTermsVars([valueRT, ...(keyRT ? [keyRT] : []), ...suffixRT]));
    // head terms that enumerate (refs with free vars, calls with them) are evaluated at the end of the body
    const hoist = (t: RT): RT => {
      let free = false;
      for (const s of refOutVars(t)) if (!ordered.bound.has(s)) free = true;
      if (!free) return t;
      const v: RT = { t: "var", s: slots.next("$head"), name: "$head", wild: false, loc: rule.loc };
      body.push({ k: "unify", a: v, b: t, negated: false, with: [], loc: rule.loc });
      return v;
    };
    const v2 = hoist(valueRT);
    const k2 = keyRT ? hoist(keyRT) : null;
    const s2 = suffixRT.map(hoist);
    if (v2 !== valueRT || k2 !== keyRT || s2.some((x, i) => x !== suffixRT[i]))
      ordered = bc.order(body, bound, headTermsVars([v2, ...(k2 ? [k2] : []), ...s2]));
    valueRT = v2;
    keyRT = k2;
    suffixRT = s2;
    const fin = ordered.bound;
    for (const t of [valueRT, ...(keyRT ? [keyRT] : []), ...suffixRT]) {
      for (const s of allVars(t)) {
        if (!fin.has(s)) compileError("rego_unsafe_var_error", `var ${slots.names[s]} is unsafe`, rule.loc);
      }
    }
    cr.body = bc.compileBody(ordered.exprs, bound, (f) => f.done(f));
    if (!rule.else && cr === sh.crule) cr.index = indexKeyOf(ordered.exprs[0]);
    if (rule.bodyless && !rule.else && !rule.isDefault && cr === sh.crule && valueRT.t === "val")
      cr.constant = valueRT.v;
    cr.value = rule.isDefault ? bc.direct(valueRT, new Set()) : bc.direct(valueRT, fin);
    cr.constValue = allVars(valueRT).size === 0 && valueRT.t !== "call" && valueRT.t !== "comp";
    if (keyRT) cr.key = bc.direct(keyRT, fin);
    cr.suffix = suffixRT.map((t) => bc.direct(t, fin));
    if (head.args) {
      const pats = paramRTs.map((p) => bc.pattern(p));
      const n = pats.length;
      cr.params = (f, args) => {
        for (let i = 0; i < n; i++) if (!pats[i](f, args[i])) return false;
        return true;
      };
    }
    if (rule.isDefault && allVars(valueRT).size > 0)
      compileError("rego_type_error", `default rule ${cr.node.text} value must be ground`, rule.loc);
    cr.nslots = slots.n;
  }

  // ---------- queries ----------

  compileQuery(exprs: Expr[], pkg: string[] = [], imports: Module["imports"] = []): CompiledQuery {
    const mod: Module = { file: "query", pkg, imports, rules: [], v0: false, source: "" };
    const ctx = this.modCtx(mod);
    const slots = new SlotAlloc();
    const scope = new Scope(null, slots);
    const bc = new BodyCompiler(this, ctx, null);
    bc.ordered = true;
    const body = bc.resolveBody(exprs, scope, []);
    const ordered = bc.order(body, new Set(), new Set());
    const outVars: { name: string; slot: number; generated: boolean }[] = [];
    for (const [name, s] of scope.names) {
      if (name.startsWith("$")) continue;
      outVars.push({ name, slot: s, generated: bc.assigned.has(s) });
    }
    const run = bc.compileBody(ordered.exprs, new Set(), (f) => f.done(f));
    return { run, nslots: slots.n, outVars };
  }

  // ---------- recursion ----------

  addDep(from: RNode | null, to: RNode): void {
    if (!from) return;
    let s = this.deps.get(from);
    if (!s) {
      s = new Set();
      this.deps.set(from, s);
    }
    s.add(to);
  }

  private checkRecursion(): void {
    const state = new Map<RNode, number>();
    const stack: RNode[] = [];
    const expand = (n: RNode): RNode[] => {
      // depending on a prefix node means depending on every rule below it
      const out: RNode[] = [];
      const walk = (m: RNode) => {
        if (m.complete.length || m.sets.length || m.objects.length || m.funcs.length || m.dflt) out.push(m);
        if (!(m.complete.length || m.sets.length)) for (const c of m.children.values()) walk(c);
      };
      walk(n);
      return out;
    };
    const visit = (n: RNode) => {
      state.set(n, 1);
      stack.push(n);
      for (const d0 of this.deps.get(n) ?? []) {
        for (const d of expand(d0)) {
          const st = state.get(d);
          if (st === 1) {
            const cycle = [...stack.slice(stack.indexOf(d)), d].map((x) => x.text);
            const r = d.complete[0] ?? d.sets[0] ?? d.objects[0] ?? d.funcs[0];
            compileError(
              "rego_recursion_error",
              `rule ${d.text} is recursive: ${cycle.join(" -> ")}`,
              r?.loc,
            );
          }
          if (st === undefined) visit(d);
        }
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const n of this.deps.keys()) if (!state.has(n)) visit(n);
  }

  /** Find the rule-tree node for a data path (undefined if no rules there). */
  nodeAt(path: string[]): RNode | undefined {
    let n: RNode | undefined = this.root;
    for (const p of path) {
      n = n.children.get(p);
      if (!n) return undefined;
    }
    return n;
  }
}

/**
 * Rule indexing: a body whose first expression is `input.a.b == <scalar>` (after safety
 * ordering) can be skipped without running when the input does not match.
 */
function indexKeyOf(e: RE | undefined): { path: string[]; value: Value } | undefined {
  if (!e || e.negated || e.with.length) return undefined;
  let a: RT | undefined;
  let b: RT | undefined;
  if (e.k === "unify") {
    a = e.a;
    b = e.b;
  } else if (e.k === "term" && e.term.t === "call" && e.term.fn.name === "equal" && !e.term.out) {
    a = e.term.args[0];
    b = e.term.args[1];
  }
  if (!a || !b) return undefined;
  if (a.t === "val") [a, b] = [b, a];
  if (b.t !== "val" || (b.v !== null && typeof b.v === "object")) return undefined;
  if (a.t !== "ref" || a.head.t !== "input") return undefined;
  const path: string[] = [];
  for (const p of a.path) {
    if (p.t !== "val" || typeof p.v !== "string") return undefined;
    path.push(p.v);
  }
  return { path, value: b.v };
}

function* allNodes(n: RNode): Generator<RNode> {
  yield n;
  for (const c of n.children.values()) yield* allNodes(c);
}

function buildIndex(node: RNode, list: "complete" | "sets" | "objects"): void {
  const rules = node[list];
  if (rules.length < 4) return;
  // the most common indexed input path among the rules
  const counts = new Map<string, number>();
  for (const r of rules)
    if (r.index) counts.set(r.index.path.join("\u0000"), (counts.get(r.index.path.join("\u0000")) ?? 0) + 1);
  let best: string | undefined;
  for (const [k, c] of counts) if (c >= 3 && (best === undefined || c > (counts.get(best) ?? 0))) best = k;
  if (best === undefined) return;
  const path = best.split("\u0000");
  const byValue = new Map<MapKey, CRule[]>();
  const rest: CRule[] = [];
  for (const r of rules) {
    if (r.index && r.index.path.join("\u0000") === best) {
      const k = keyOf(r.index.value);
      const l = byValue.get(k);
      if (l) l.push(r);
      else byValue.set(k, [r]);
    } else rest.push(r);
  }
  node.indexes[list] = { path, byValue, rest };
}

export interface CompiledQuery {
  run: Cont;
  nslots: number;
  outVars: { name: string; slot: number; generated: boolean }[];
}

function termPath(t: Term): string[] {
  if (t.t === "var") return [t.name];
  if (t.t === "ref" && t.head.t === "var")
    return [t.head.name, ...t.path.map((p) => String((p as { v: Value }).v))];
  return [];
}

/** Names of variables in an AST term (not inside nested comprehension bodies unless deep). */
function collectVarNames(t: Term, out: Set<string>, deep: boolean): void {
  switch (t.t) {
    case "var":
      out.add(t.name);
      return;
    case "ref":
      collectVarNames(t.head, out, deep);
      for (const p of t.path) collectVarNames(p, out, deep);
      return;
    case "array":
    case "set":
      for (const x of t.items) collectVarNames(x, out, deep);
      return;
    case "object":
      for (const [k, v] of t.pairs) {
        collectVarNames(k, out, deep);
        collectVarNames(v, out, deep);
      }
      return;
    case "call":
      for (const a of t.args) collectVarNames(a, out, deep);
      return;
    case "template":
      for (const p of t.parts) if (typeof p !== "string") collectExprVarNames(p, out, deep);
      return;
    default:
      return;
  }
}

function collectExprVarNames(e: Expr, out: Set<string>, deep: boolean): void {
  switch (e.k) {
    case "term":
      collectVarNames(e.term, out, deep);
      break;
    case "unify":
    case "assign":
      collectVarNames(e.a, out, deep);
      collectVarNames(e.b, out, deep);
      break;
    case "somein":
      // key/value are declared by `some`, the collection is from this scope
      collectVarNames(e.coll, out, deep);
      break;
    case "every":
      collectVarNames(e.domain, out, deep);
      break;
    default:
      break;
  }
  for (const w of e.with) collectVarNames(w.value, out, deep);
}

// ---------- variable sets of resolved terms ----------

function patternVars(t: RT, out = new Set<number>()): Set<number> {
  switch (t.t) {
    case "var":
      out.add(t.s);
      break;
    case "array":
    case "set":
      for (const x of t.items) patternVars(x, out);
      break;
    case "object":
      for (const [, v] of t.pairs) patternVars(v, out);
      break;
    default:
      break;
  }
  return out;
}

/** Classify variable occurrences: pattern positions, inputs, ref outputs. */
function classify(t: RT, mode: "pattern" | "input", vs: VarSets): void {
  switch (t.t) {
    case "var":
      vs.all.add(t.s);
      if (t.wild) vs.out.add(t.s);
      else if (mode === "pattern") vs.pattern.add(t.s);
      else vs.input.add(t.s);
      return;
    case "ref":
      classify(t.head, "input", vs);
      for (const p of t.path) {
        if (p.t === "var") {
          vs.all.add(p.s);
          vs.out.add(p.s);
        } else if (p.t === "array" || p.t === "object" || p.t === "set") {
          for (const s of patternVars(p)) {
            vs.all.add(s);
            vs.out.add(s);
          }
        } else classify(p, "input", vs);
      }
      return;
    case "array":
    case "set":
      for (const x of t.items) classify(x, mode, vs);
      return;
    case "object":
      for (const [k, v] of t.pairs) {
        classify(k, "input", vs);
        classify(v, mode, vs);
      }
      return;
    case "call":
      for (const a of t.args) classify(a, "input", vs);
      if (t.out) {
        const o: VarSets = newVarSets();
        classify(t.out, "pattern", o);
        for (const s of o.pattern) vs.out.add(s);
        for (const s of o.out) vs.out.add(s);
        for (const s of o.input) vs.input.add(s);
        for (const s of o.all) vs.all.add(s);
      }
      return;
    case "print":
      for (const a of t.args) classify(a, "input", vs);
      return;
    case "comp":
    case "template":
      for (const s of t.captured) {
        vs.all.add(s);
        vs.input.add(s);
      }
      return;
    default:
      return;
  }
}

/** Variables in ref path positions (bound by enumerating the ref). */
function refOutVars(t: RT, out = new Set<number>()): Set<number> {
  switch (t.t) {
    case "ref":
      refOutVars(t.head, out);
      for (const p of t.path) {
        if (p.t === "var") out.add(p.s);
        else if (p.t === "array" || p.t === "object" || p.t === "set")
          for (const s of patternVars(p)) out.add(s);
        else refOutVars(p, out);
      }
      break;
    case "array":
    case "set":
      for (const x of t.items) refOutVars(x, out);
      break;
    case "object":
      for (const [k, v] of t.pairs) {
        refOutVars(k, out);
        refOutVars(v, out);
      }
      break;
    case "call":
      for (const a of t.args) refOutVars(a, out);
      if (t.out) for (const s of allVars(t.out)) out.add(s);
      break;
    default:
      break;
  }
  return out;
}

function newVarSets(): VarSets {
  return { input: new Set(), pattern: new Set(), out: new Set(), all: new Set() };
}

function allVars(t: RT): Set<number> {
  const vs = newVarSets();
  classify(t, "input", vs);
  return vs.all;
}

function headTermsVars(ts: RT[]): Set<number> {
  const out = new Set<number>();
  for (const t of ts) for (const s of allVars(t)) out.add(s);
  return out;
}

function exprVars(e: RE): VarSets {
  if (e.vars) return e.vars;
  const vs = newVarSets();
  switch (e.k) {
    case "term":
      classify(e.term, "input", vs);
      break;
    case "unify":
      classify(e.a, "pattern", vs);
      classify(e.b, "pattern", vs);
      break;
    case "somein":
      classify(e.coll, "input", vs);
      if (e.key) classify(e.key, "pattern", vs);
      classify(e.value, "pattern", vs);
      break;
    case "every":
      classify(e.domain, "input", vs);
      for (const s of e.captured) {
        vs.all.add(s);
        vs.input.add(s);
      }
      break;
    case "body":
      for (const s of e.captured) {
        vs.all.add(s);
        vs.input.add(s);
      }
      break;
    default:
      break;
  }
  for (const w of e.with) classify(w.value, "input", vs);
  e.vars = vs;
  return vs;
}

function isGround(t: RT, bound: Set<number>): boolean {
  for (const s of patternVars(t)) if (!bound.has(s)) return false;
  return true;
}

function unifiable(a: RT, b: RT, bound: Set<number>): boolean {
  if (isGround(a, bound) || isGround(b, bound)) return true;
  if (a.t === "array" && b.t === "array" && a.items.length === b.items.length) {
    const bb = new Set(bound);
    // pairs may bind each other in any order; iterate to a fixpoint
    const pending = a.items.map((x, i) => [x, b.items[i]] as [RT, RT]);
    let progress = true;
    while (pending.length && progress) {
      progress = false;
      for (let i = 0; i < pending.length; i++) {
        const [x, y] = pending[i];
        if (unifiable(x, y, bb)) {
          for (const s of patternVars(x)) bb.add(s);
          for (const s of patternVars(y)) bb.add(s);
          pending.splice(i, 1);
          i--;
          progress = true;
        }
      }
    }
    return pending.length === 0;
  }
  if (a.t === "object" && b.t === "object" && a.pairs.length === b.pairs.length) {
    return true;
  }
  return false;
}

// ---------- body compiler ----------

class BodyCompiler {
  /** slots declared with := (reported as generated in query results) */
  readonly assigned = new Set<number>();
  /**
   * Enumeration order is observable here (query results, array comprehensions): iterate sets
   * and objects in Rego's sorted order. Elsewhere (rule bodies building sets, complete values,
   * negation, every) insertion order gives the same answer cheaper.
   */
  ordered = false;

  constructor(
    readonly pc: CompiledPolicy,
    readonly ctx: ModCtx,
    readonly owner: RNode | null,
  ) {}

  // ----- resolution -----

  resolveBody(exprs: Expr[], scope: Scope, headTerms: Term[]): RE[] {
    // explicit declarations of this body (`:=` ones are declared in order, see below)
    const declared = new Set<string>();
    const assignedHere = new Set<string>();
    for (const e of exprs) {
      if (e.k === "some") for (const v of e.vars) declared.add((v as { name: string }).name);
      if (e.k === "somein") {
        const names = new Set<string>();
        if (e.key) collectVarNames(e.key, names, false);
        collectVarNames(e.value, names, false);
        for (const n of names) declared.add(n);
      }
      if (e.k === "assign") {
        const names = new Set<string>();
        collectVarNames(e.a, names, false);
        for (const n of names) assignedHere.add(n);
      }
    }
    for (const n of declared) if (n !== "_" && !scope.names.has(n)) scope.declare(n);
    // implicit locals: names used directly here, not known outside and not globals
    const direct = new Set<string>();
    for (const e of exprs) collectExprVarNames(e, direct, false);
    for (const t of headTerms) collectVarNames(t, direct, false);
    for (const n of direct) {
      if (n === "_" || scope.names.has(n) || assignedHere.has(n)) continue;
      if (scope.parent?.lookup(n) !== undefined) continue;
      if (this.isGlobal(n)) continue;
      scope.declare(n);
    }
    const out: RE[] = [];
    const assignedSeen = new Set<string>();
    for (const e of exprs) {
      if (e.k === "assign") {
        // the right side first (it sees the names from before), then the new locals
        const names = new Set<string>();
        collectVarNames(e.a, names, false);
        const b = this.resolveTerm(e.b, scope);
        for (const n of names) {
          if (n === "_") continue;
          if (assignedSeen.has(n)) compileError("rego_compile_error", `var ${n} assigned above`, e.loc);
          assignedSeen.add(n);
          if (!scope.names.has(n)) scope.declare(n);
        }
        const re = this.resolveExpr({ ...e, b: { t: "scalar", v: null, loc: e.loc } }, scope);
        if (re.k === "unify") re.b = b;
        out.push(re);
        continue;
      }
      out.push(this.resolveExpr(e, scope));
    }
    return out;
  }

  isGlobal(name: string): boolean {
    return name === "input" || name === "data" || this.ctx.ruleNames.has(name) || this.ctx.imports.has(name);
  }

  resolveExpr(e: Expr, scope: Scope): RE {
    const base = {
      negated: e.negated,
      with: e.with.map((w) => this.resolveWith(w.target, w.value, w.loc, scope)),
      loc: e.loc,
    };
    switch (e.k) {
      case "term":
        return { ...base, k: "term", term: this.resolveTerm(e.term, scope) };
      case "unify":
        return { ...base, k: "unify", a: this.resolveTerm(e.a, scope), b: this.resolveTerm(e.b, scope) };
      case "assign": {
        const a = this.resolveTerm(e.a, scope);
        if (!isAssignable(a)) compileError("rego_parse_error", "cannot assign to non-variable term", e.loc);
        for (const s of patternVars(a)) this.assigned.add(s);
        return { ...base, k: "unify", a, b: this.resolveTerm(e.b, scope) };
      }
      case "some":
        return { ...base, k: "nop" };
      case "somein":
        return {
          ...base,
          k: "somein",
          key: e.key ? this.resolveTerm(e.key, scope) : null,
          value: this.resolveTerm(e.value, scope),
          coll: this.resolveTerm(e.coll, scope),
        };
      case "every": {
        const domain = this.resolveTerm(e.domain, scope);
        const inner = new Scope(scope, scope.slots);
        const names = new Set<string>();
        if (e.key) collectVarNames(e.key, names, false);
        collectVarNames(e.value, names, false);
        for (const n of names) if (n !== "_") inner.declare(n);
        const key = e.key ? this.resolveTerm(e.key, inner) : null;
        const value = this.resolveTerm(e.value, inner);
        const body = this.resolveBody(e.body, inner, []);
        return { ...base, k: "every", key, value, domain, body, captured: outerCaptured(inner, scope) };
      }
      case "body": {
        const inner = new Scope(scope, scope.slots);
        const body = this.resolveBody(e.body, inner, []);
        return { ...base, k: "body", body, captured: outerCaptured(inner, scope) };
      }
    }
  }

  resolveWith(target: Term, value: Term, loc: Loc, scope: Scope): RWith {
    const fnValue = this.functionValue(value);
    const v: RT = fnValue ? { t: "val", v: null } : this.resolveTerm(value, scope);
    const name = dottedName(target);
    if (name === null) compileError("rego_compile_error", "with keyword target must be a reference", loc);
    const parts = name.split(".");
    if (parts[0] === "input")
      return { kind: "input", path: parts.slice(1), fnKey: "", value: v, fnValue, loc };
    // function targets: builtins or user functions
    const fn = this.resolveFunction(name, target.loc, true);
    if (fn) {
      const key = fn.kind === "builtin" ? fn.name : fn.node.text;
      if (fn.kind === "user" || !parts[0].startsWith("data"))
        return { kind: "fn", path: [], fnKey: key, value: v, fnValue, loc };
    }
    const dataPath = this.dataPathOf(parts);
    if (dataPath) {
      const node = this.pc.nodeAt(dataPath);
      if (node?.isFunction) return { kind: "fn", path: [], fnKey: node.text, value: v, fnValue, loc };
      return { kind: "data", path: dataPath, fnKey: "", value: v, fnValue, loc };
    }
    return compileError(
      "rego_compile_error",
      `with keyword target ${name} must reference existing input, data, or a function`,
      loc,
    );
  }

  /** If a with value names a function (builtin or user), the replacement. */
  functionValue(t: Term): FnOverride | null {
    const name = dottedName(t);
    if (!name) return null;
    const fn = this.resolveFunction(name, t.loc, true);
    if (!fn) return null;
    if (fn.kind === "builtin") return { builtin: fn.name };
    return { node: fn.node };
  }

  /** data path for a dotted name (resolving package rules and imports) */
  dataPathOf(parts: string[]): string[] | null {
    if (parts[0] === "data") return parts.slice(1);
    if (this.ctx.ruleNames.has(parts[0])) return [...this.ctx.pkg, ...parts];
    const imp = this.ctx.imports.get(parts[0]);
    if (imp?.head === "data") return [...imp.path, ...parts.slice(1)];
    return null;
  }

  resolveFunction(name: string, loc: Loc, quiet = false): FnTarget | null {
    const parts = name.split(".");
    const dataPath = this.dataPathOf(parts);
    if (dataPath) {
      const node = this.pc.nodeAt(dataPath);
      if (node?.isFunction || node?.dflt?.arity) {
        this.pc.addDep(this.owner, node);
        return { kind: "user", node, name };
      }
      if (quiet) return null;
      compileError("rego_type_error", `undefined function ${name}`, loc);
    }
    const spec = this.pc.builtin(name);
    if (spec) return { kind: "builtin", spec, name };
    if (REPLACEABLE_ONLY_BUILTINS.has(name) || name === "print" || name === "test.sleep")
      return { kind: "builtin", spec: null, name };
    if (quiet) return null;
    return compileError("rego_type_error", `undefined function ${name}`, loc);
  }

  resolveVar(name: string, loc: Loc, scope: Scope): RT {
    if (name === "_") return { t: "var", s: scope.fresh("_"), name, wild: true, loc };
    const s = scope.lookup(name);
    if (s !== undefined) return { t: "var", s, name, wild: false, loc };
    if (name === "input") return { t: "input" };
    if (name === "data") return { t: "data" };
    if (this.ctx.ruleNames.has(name))
      return this.mkRef(
        { t: "data" },
        [...this.ctx.pkg, name].map((p) => ({ t: "val", v: p })),
        loc,
      );
    const imp = this.ctx.imports.get(name);
    if (imp) {
      const path: RT[] = imp.path.map((p) => ({ t: "val", v: p }));
      return path.length ? this.mkRef({ t: imp.head }, path, loc) : { t: imp.head };
    }
    // unknown: a local introduced in an unusual place (e.g. head of a nested term)
    return { t: "var", s: scope.declare(name), name, wild: false, loc };
  }

  mkRef(head: RT, path: RT[], loc: Loc): RT {
    if (head.t === "ref") return { t: "ref", head: head.head, path: [...head.path, ...path], loc };
    return { t: "ref", head, path, loc };
  }

  resolveTerm(t: Term, scope: Scope): RT {
    switch (t.t) {
      case "scalar":
        return { t: "val", v: t.v };
      case "var":
        return this.resolveVar(t.name, t.loc, scope);
      case "ref": {
        const head = this.resolveTerm(t.head, scope);
        const path = t.path.map((p) => this.resolveTerm(p, scope));
        return this.mkRef(head, path, t.loc);
      }
      case "array":
        return foldConst({ t: "array", items: t.items.map((x) => this.resolveTerm(x, scope)) });
      case "set":
        return foldConst({ t: "set", items: t.items.map((x) => this.resolveTerm(x, scope)) });
      case "object":
        return foldConst({
          t: "object",
          pairs: t.pairs.map(
            ([k, v]) => [this.resolveTerm(k, scope), this.resolveTerm(v, scope)] as [RT, RT],
          ),
        });
      case "call": {
        const name = dottedName(t.op);
        if (name === null) compileError("rego_type_error", "invalid function call", t.loc);
        const args = t.args.map((a) => this.resolveTerm(a, scope));
        if (name === "print" || name === "internal.print") return { t: "print", args, loc: t.loc };
        const fn = this.resolveFunction(name, t.loc) as FnTarget;
        let arity =
          fn.kind === "builtin"
            ? (fn.spec?.arity ?? REPLACEABLE_ONLY_BUILTINS.get(name) ?? args.length)
            : fnArity(fn.node);
        if (fn.kind === "user") {
          // overloading by arity: the definition matching the argument count
          const arities = new Set(fn.node.funcs.map((r) => r.arity));
          if (fn.node.dflt) arities.add(fn.node.dflt.arity);
          if (arities.has(args.length)) arity = args.length;
          else if (arities.has(args.length - 1)) arity = args.length - 1;
        }
        let out: RT | null = null;
        if (args.length === arity + 1) out = args.pop() as RT;
        else if (args.length !== arity && arity >= 0)
          compileError(
            "rego_type_error",
            `function ${name} has arity ${arity}, got ${args.length} argument${args.length === 1 ? "" : "s"}`,
            t.loc,
          );
        return { t: "call", fn, args, out, loc: t.loc };
      }
      case "arraycomp":
      case "setcomp":
      case "objcomp": {
        const inner = new Scope(scope, scope.slots);
        const heads = t.t === "objcomp" ? [t.key, t.value] : [t.term];
        const body = this.resolveBody(t.body, inner, heads);
        const head = heads.map((h) => this.resolveTerm(h, inner));
        const kind = t.t === "arraycomp" ? "array" : t.t === "setcomp" ? "set" : "object";
        return { t: "comp", kind, head, body, captured: outerCaptured(inner, scope), loc: t.loc };
      }
      case "template": {
        const inner = new Scope(scope, scope.slots);
        const parts = t.parts.map((p) => (typeof p === "string" ? p : this.resolveTemplatePart(p, inner)));
        return { t: "template", parts, captured: outerCaptured(inner, scope), loc: t.loc };
      }
    }
  }

  resolveTemplatePart(e: Expr, inner: Scope): RE {
    const body = this.resolveBody([e], inner, []);
    return body[0];
  }

  // ----- safety ordering -----

  order(body: RE[], bound0: Set<number>, headVars: Set<number>): { exprs: RE[]; bound: Set<number> } {
    const bound = new Set(bound0);
    const remaining = body.filter((e) => e.k !== "nop");
    const exprs: RE[] = [];
    // occurrence counts to find variables local to a negated expression
    const counts = new Map<number, number>();
    for (const e of remaining) for (const s of exprVars(e).all) counts.set(s, (counts.get(s) ?? 0) + 1);
    const needs = (e: RE): Set<number> => {
      const vs = exprVars(e);
      if (e.negated) {
        const n = new Set<number>();
        for (const s of vs.all) if ((counts.get(s) ?? 0) > 1 || headVars.has(s) || bound0.has(s)) n.add(s);
        for (const s of vs.input) n.add(s);
        // wildcards and vars only used here are local to the negation
        for (const s of vs.out) if ((counts.get(s) ?? 0) <= 1 && !headVars.has(s)) n.delete(s);
        for (const s of vs.pattern)
          if ((counts.get(s) ?? 0) <= 1 && !headVars.has(s) && !bound0.has(s)) n.delete(s);
        return n;
      }
      if (vs.out.size === 0) return vs.input;
      // variables the expression binds itself (ref enumeration) are not inputs
      const n = new Set<number>();
      for (const s of vs.input) if (!vs.out.has(s)) n.add(s);
      return n;
    };
    while (remaining.length) {
      let picked = -1;
      for (let i = 0; i < remaining.length; i++) {
        const e = remaining[i];
        let ok = true;
        for (const s of needs(e)) if (!bound.has(s)) ok = false;
        if (ok && e.k === "unify" && !e.negated) ok = unifiable(e.a, e.b, bound);
        if (ok) {
          picked = i;
          break;
        }
      }
      if (picked < 0) {
        const e = remaining[0];
        const names: string[] = [];
        for (const s of needs(e)) if (!bound.has(s)) names.push(this.slotName(e, s));
        if (names.length === 0 && e.k === "unify")
          for (const s of patternVars(e.a)) if (!bound.has(s)) names.push(this.slotName(e, s));
        compileError("rego_unsafe_var_error", `var ${names[0] ?? "?"} is unsafe`, e.loc);
      }
      const e = remaining.splice(picked, 1)[0];
      exprs.push(e);
      if (!e.negated) {
        const vs = exprVars(e);
        for (const s of vs.out) bound.add(s);
        for (const s of vs.pattern) bound.add(s);
      }
    }
    return { exprs, bound };
  }

  slotName(e: RE, s: number): string {
    const find = (t: RT): string | null => {
      if (t.t === "var" && t.s === s) return t.name;
      if (t.t === "ref") return find(t.head) ?? t.path.map(find).find((x) => x) ?? null;
      if (t.t === "array" || t.t === "set") return t.items.map(find).find((x) => x) ?? null;
      if (t.t === "object") return t.pairs.flatMap(([k, v]) => [find(k), find(v)]).find((x) => x) ?? null;
      if (t.t === "call") return [...t.args, ...(t.out ? [t.out] : [])].map(find).find((x) => x) ?? null;
      return null;
    };
    const terms: RT[] =
      e.k === "term" ? [e.term] : e.k === "unify" ? [e.a, e.b] : e.k === "somein" ? [e.coll, e.value] : [];
    for (const t of terms) {
      const n = find(t);
      if (n) return n;
    }
    return `$${s}`;
  }

  // ----- code generation -----

  compileBody(exprs: RE[], bound0: Set<number>, last: Cont): Cont {
    // compute the bound set before each expression
    const befores: Set<number>[] = [];
    const bound = new Set(bound0);
    for (const e of exprs) {
      befores.push(new Set(bound));
      if (!e.negated) {
        const vs = exprVars(e);
        for (const s of vs.out) bound.add(s);
        for (const s of vs.pattern) bound.add(s);
      }
    }
    let next = last;
    for (let i = exprs.length - 1; i >= 0; i--) next = this.compileExpr(exprs[i], befores[i], next);
    return next;
  }

  compileExpr(e: RE, bound: Set<number>, next: Cont): Cont {
    if (e.with.length) return this.compileWith(e, bound, next);
    if (e.negated) {
      const inner = this.compileExprCore(e, bound, stop);
      return (f) => (inner(f) ? false : next(f));
    }
    return this.compileExprCore(e, bound, next);
  }

  compileWith(e: RE, bound: Set<number>, next: Cont): Cont {
    const mods = e.with.map((w) => ({ w, d: w.fnValue ? null : this.direct(w.value, bound) }));
    const plain: RE = { ...e, with: [] };
    // the continuation runs under the state from before the with
    const restoreThenNext: Cont = (f) => {
      const ev = f.ev;
      const stack = withStacks.get(ev) as Snapshot[];
      const cur = snapshot(ev);
      restore(ev, stack[stack.length - 1]);
      const outer = stack.pop() as Snapshot;
      try {
        return next(f);
      } finally {
        stack.push(outer);
        restore(ev, cur);
      }
    };
    const inner = this.compileExpr(plain, bound, restoreThenNext);
    return (f) => {
      const ev = f.ev;
      const vals: (Value | undefined)[] = mods.map((m) => (m.d ? m.d(f) : undefined));
      for (let i = 0; i < mods.length; i++) if (mods[i].d && vals[i] === undefined) return false;
      const saved = snapshot(ev);
      let stack = withStacks.get(ev);
      if (!stack) {
        stack = [];
        withStacks.set(ev, stack);
      }
      for (let i = 0; i < mods.length; i++) applyWith(ev, mods[i].w, vals[i]);
      ev.gen = newGeneration();
      stack.push(saved);
      try {
        return inner(f);
      } finally {
        stack.pop();
        restore(ev, saved);
      }
    };
  }

  compileExprCore(e: RE, bound: Set<number>, next: Cont): Cont {
    switch (e.k) {
      case "nop":
        return next;
      case "term":
        return this.compileTermExpr(e.term, bound, next);
      case "unify":
        return this.compileUnify(e.a, e.b, bound, next);
      case "somein":
        return this.compileSomeIn(e.key, e.value, e.coll, bound, next);
      case "every":
        return this.compileEvery(e, bound, next);
      case "body": {
        const inner = this.compileOrderedBody(e.body, bound);
        return (f) => {
          const saved = f.done;
          f.done = stop;
          const found = inner(f);
          f.done = saved;
          return found ? next(f) : false;
        };
      }
    }
  }

  /** Order and compile a nested body that ends in f.done. */
  compileOrderedBody(body: RE[], bound: Set<number>): Cont {
    const ordered = this.order(body, bound, new Set());
    return this.compileBody(ordered.exprs, bound, (f) => f.done(f));
  }

  compileTermExpr(t: RT, bound: Set<number>, next: Cont): Cont {
    if (t.t === "call" && t.out) {
      const call = this.enumTerm({ ...t, out: null }, bound);
      const pat = this.patternK(t.out);
      return (f) => call(f, (v) => pat(f, v, next));
    }
    const d = this.directOrNull(t, bound);
    if (d)
      return (f) => {
        const v = d(f);
        return v !== undefined && v !== false ? next(f) : false;
      };
    const en = this.enumTerm(t, bound);
    return (f) => en(f, (v) => (v !== false ? next(f) : false));
  }

  compileUnify(a: RT, b: RT, bound: Set<number>, next: Cont): Cont {
    if (isGround(b, bound)) return this.unifyWithValue(a, b, bound, next);
    if (isGround(a, bound)) return this.unifyWithValue(b, a, bound, next);
    if (a.t === "array" && b.t === "array" && a.items.length === b.items.length) {
      // pairwise, in an order where each pair has a ground side
      const pairs = a.items.map((x, i) => [x, b.items[i]] as [RT, RT]);
      const ordered: [RT, RT][] = [];
      const bb = new Set(bound);
      const befores: Set<number>[] = [];
      while (pairs.length) {
        const i = pairs.findIndex(([x, y]) => unifiable(x, y, bb));
        const [p] = pairs.splice(Math.max(i, 0), 1);
        befores.push(new Set(bb));
        ordered.push(p);
        for (const s of patternVars(p[0])) bb.add(s);
        for (const s of patternVars(p[1])) bb.add(s);
        for (const s of allVars(p[0])) bb.add(s);
        for (const s of allVars(p[1])) bb.add(s);
      }
      let k = next;
      for (let i = ordered.length - 1; i >= 0; i--)
        k = this.compileUnify(ordered[i][0], ordered[i][1], befores[i], k);
      return k;
    }
    if (a.t === "object" && b.t === "object") {
      const bk = new Map<string, RT>();
      for (const [k, v] of b.pairs) if (k.t === "val") bk.set(String(JSON.stringify(k.v)), v);
      const pairs: [RT, RT][] = [];
      for (const [k, v] of a.pairs) {
        const other = k.t === "val" ? bk.get(String(JSON.stringify(k.v))) : undefined;
        if (!other) return () => false;
        pairs.push([v, other]);
      }
      if (pairs.length !== b.pairs.length) return () => false;
      return this.compileUnify(
        { t: "array", items: pairs.map((p) => p[0]) },
        { t: "array", items: pairs.map((p) => p[1]) },
        bound,
        next,
      );
    }
    // fall back: evaluate b and unify a against it
    return this.unifyWithValue(a, b, bound, next);
  }

  /** Unify pattern `p` with the value(s) of ground term `g`. */
  unifyWithValue(p: RT, g: RT, bound: Set<number>, next: Cont): Cont {
    // bound after g is enumerated: g's ref outputs
    const gv = newVarSets();
    classify(g, "input", gv);
    const after = new Set(bound);
    for (const s of gv.out) after.add(s);
    let pOuts = false;
    for (const s of refOutVars(p)) if (!after.has(s)) pOuts = true;
    if (pOuts) {
      const enG = this.enumTerm(g, bound);
      const enP = this.enumTerm(p, after);
      return (f) => enG(f, (v) => enP(f, (w) => (equal(v, w) ? next(f) : false)));
    }
    const pat = this.patternK(p, after);
    if (p.t === "var" && !bound.has(p.s) && !after.has(p.s)) {
      const s = p.s;
      const d = this.directOrNull(g, bound);
      if (d)
        return (f) => {
          const v = d(f);
          if (v === undefined) return false;
          f.v[s] = v;
          const r = next(f);
          f.v[s] = undefined;
          return r;
        };
    }
    const d = this.directOrNull(g, bound);
    if (d)
      return (f) => {
        const v = d(f);
        return v === undefined ? false : pat(f, v, next);
      };
    const en = this.enumTerm(g, bound);
    return (f) => en(f, (v) => pat(f, v, next));
  }

  compileSomeIn(key: RT | null, value: RT, coll: RT, bound: Set<number>, next: Cont): Cont {
    const ordered = this.ordered;
    // fast path: `some x in coll` with a fresh x and a directly computable collection
    const dc = this.directOrNull(coll, bound);
    if (!key && dc && value.t === "var" && !bound.has(value.s)) {
      const s = value.s;
      return (f) => {
        const c = dc(f);
        if (c === null || typeof c !== "object") return false;
        let stopped = false;
        if (Array.isArray(c)) {
          for (let i = 0; i < c.length && !stopped; i++) {
            f.v[s] = c[i];
            stopped = next(f);
          }
        } else if (!ordered || (c as RSet | RObject).m.size < 2) {
          for (const v of (c as RSet | RObject).m.values()) {
            f.v[s] = v;
            stopped = next(f);
            if (stopped) break;
          }
        } else {
          stopped = forEachEntry(c, (_k, v) => {
            f.v[s] = v;
            return next(f);
          });
        }
        f.v[s] = undefined;
        return stopped;
      };
    }
    const en = this.enumTerm(coll, bound);
    const vp = this.patternK(value);
    if (!key)
      return (f) =>
        en(f, (c) => {
          if (c === null || typeof c !== "object") return false;
          return forEachEntry(c, (_k, v) => vp(f, v, next), ordered);
        });
    const kp = this.patternK(key);
    return (f) =>
      en(f, (c) => {
        if (c === null || typeof c !== "object") return false;
        return forEachEntry(c, (k, v) => kp(f, k, (ff) => vp(ff, v, next)), ordered);
      });
  }

  compileEvery(e: RE & { k: "every" }, bound: Set<number>, next: Cont): Cont {
    const en = this.enumTerm(e.domain, bound);
    const vp = this.patternK(e.value);
    const kp = e.key ? this.patternK(e.key) : null;
    const inner = new Set(bound);
    for (const s of patternVars(e.value)) inner.add(s);
    if (e.key) for (const s of patternVars(e.key)) inner.add(s);
    const body = this.compileOrderedBody(e.body, inner);
    return (f) => {
      let ok = true;
      let seen = false;
      en(f, (c) => {
        seen = true;
        if (c === null || typeof c !== "object") {
          ok = false;
          return true;
        }
        forEachEntry(c, (k, v) => {
          const saved = f.done;
          f.done = stop;
          const run = (ff: Frame) => body(ff);
          const found = kp ? kp(f, k, (ff) => vp(ff, v, run)) : vp(f, v, run);
          f.done = saved;
          if (!found) ok = false;
          return !ok;
        });
        return !ok;
      });
      return ok && seen ? next(f) : false;
    };
  }

  // ----- patterns -----

  /** Runtime unification of a term (which may hold unbound vars) with a value. */
  patternK(p: RT, bound?: Set<number>): (f: Frame, v: Value, k: Cont) => boolean {
    switch (p.t) {
      case "val": {
        const c = p.v;
        return (f, v, k) => (equal(c, v) ? k(f) : false);
      }
      case "var": {
        const s = p.s;
        return (f, v, k) => {
          const cur = f.v[s];
          if (cur !== undefined) return equal(cur, v) ? k(f) : false;
          f.v[s] = v;
          const r = k(f);
          f.v[s] = undefined;
          return r;
        };
      }
      case "array": {
        const items = p.items.map((x) => this.patternK(x, bound));
        const n = items.length;
        return (f, v, k) => {
          if (!Array.isArray(v) || v.length !== n) return false;
          const step = (i: number): Cont => (i === n ? k : (ff) => items[i](ff, v[i], step(i + 1)));
          return step(0)(f);
        };
      }
      case "object": {
        const keys = p.pairs.map(([k]) => this.direct(k, bound ?? new Set()));
        const vals = p.pairs.map(([, v]) => this.patternK(v, bound));
        const n = keys.length;
        return (f, v, k) => {
          if (!(v instanceof RObject) || v.size !== n) return false;
          const step = (i: number): Cont =>
            i === n
              ? k
              : (ff) => {
                  const key = keys[i](ff);
                  if (key === undefined) return false;
                  const x = v.get(key);
                  return x === undefined ? false : vals[i](ff, x, step(i + 1));
                };
          return step(0)(f);
        };
      }
      default: {
        const d = this.directLate(p);
        return (f, v, k) => {
          const x = d(f);
          return x !== undefined && equal(x, v) ? k(f) : false;
        };
      }
    }
  }

  /** Direct evaluator that checks bindings at run time (for pattern leaves). */
  directLate(t: RT): Direct {
    const all = new Set<number>();
    for (const s of allVars(t)) all.add(s);
    return this.direct(t, all);
  }

  /** Bind function parameters: returns a matcher for one argument. */
  pattern(p: RT): (f: Frame, v: Value) => boolean {
    switch (p.t) {
      case "var": {
        const s = p.s;
        return (f, v) => {
          const cur = f.v[s];
          if (cur !== undefined) return equal(cur, v);
          f.v[s] = v;
          return true;
        };
      }
      case "array": {
        const items = p.items.map((x) => this.pattern(x));
        return (f, v) => Array.isArray(v) && v.length === items.length && items.every((m, i) => m(f, v[i]));
      }
      case "object": {
        const keys = p.pairs.map(([k]) => this.direct(k, new Set()));
        const vals = p.pairs.map(([, v]) => this.pattern(v));
        return (f, v) => {
          if (!(v instanceof RObject) || v.size !== keys.length) return false;
          for (let i = 0; i < keys.length; i++) {
            const k = keys[i](f);
            const x = k === undefined ? undefined : v.get(k);
            if (x === undefined || !vals[i](f, x)) return false;
          }
          return true;
        };
      }
      default: {
        const d = this.directLate(p);
        return (f, v) => {
          const x = d(f);
          return x !== undefined && equal(x, v);
        };
      }
    }
  }

  // ----- terms -----

  direct(t: RT, bound: Set<number>): Direct {
    const d = this.directOrNull(t, bound);
    if (d) return d;
    const en = this.enumTerm(t, bound);
    return (f) => {
      let out: Value | undefined;
      en(f, (v) => {
        out = v;
        return true;
      });
      return out;
    };
  }

  /** A direct evaluator if the term cannot enumerate given `bound`, else null. */
  directOrNull(t: RT, bound: Set<number>): Direct | null {
    switch (t.t) {
      case "val": {
        const v = t.v;
        return () => v;
      }
      case "var": {
        if (!bound.has(t.s)) return null;
        const s = t.s;
        return (f) => f.v[s];
      }
      case "input":
        return (f) => f.ev.input;
      case "data": {
        const root = this.pc.root;
        this.pc.addDep(this.owner, root);
        return (f) => f.ev.nodeValue(root);
      }
      case "ref":
        return this.directRef(t, bound);
      case "array": {
        const items = t.items.map((x) => this.directOrNull(x, bound));
        if (items.some((x) => x === null)) return null;
        const ds = items as Direct[];
        const n = ds.length;
        return (f) => {
          const out = new Array<Value>(n);
          for (let i = 0; i < n; i++) {
            const v = ds[i](f);
            if (v === undefined) return undefined;
            out[i] = v;
          }
          return out;
        };
      }
      case "set": {
        const items = t.items.map((x) => this.directOrNull(x, bound));
        if (items.some((x) => x === null)) return null;
        const ds = items as Direct[];
        return (f) => {
          const out = new RSet();
          for (const d of ds) {
            const v = d(f);
            if (v === undefined) return undefined;
            out.add(v);
          }
          return out;
        };
      }
      case "object": {
        const ks = t.pairs.map(([k]) => this.directOrNull(k, bound));
        const vs = t.pairs.map(([, v]) => this.directOrNull(v, bound));
        if (ks.some((x) => x === null) || vs.some((x) => x === null)) return null;
        const kd = ks as Direct[];
        const vd = vs as Direct[];
        return (f) => {
          const out = new RObject();
          for (let i = 0; i < kd.length; i++) {
            const k = kd[i](f);
            if (k === undefined) return undefined;
            const v = vd[i](f);
            if (v === undefined) return undefined;
            out.set(k, v);
          }
          return out;
        };
      }
      case "call":
        return this.directCall(t, bound);
      case "print":
        return this.directPrint(t, bound);
      case "comp":
        return this.directComp(t, bound);
      case "template":
        return this.directTemplate(t, bound);
    }
  }

  directRef(t: RT & { t: "ref" }, bound: Set<number>): Direct | null {
    for (const p of t.path) if (p.t === "var" && !bound.has(p.s)) return null;
    const keys: Direct[] = [];
    for (const p of t.path) {
      const d = this.directOrNull(p, bound);
      if (!d) return null;
      keys.push(d);
    }
    if (t.head.t === "data") return this.directDataRef(t, keys, bound);
    const head = this.directOrNull(t.head, bound);
    if (!head) return null;
    const n = keys.length;
    // common case: constant string keys (x.a.b)
    const consts = t.path.map((p) => (p.t === "val" && typeof p.v === "string" ? p.v : null));
    if (consts.every((c) => c !== null)) {
      const ks = consts as string[];
      if (n === 1) {
        const k0 = ks[0];
        return (f) => {
          const v = head(f);
          return v instanceof RObject ? v.getStr(k0) : undefined;
        };
      }
      return (f) => {
        let v = head(f);
        for (let i = 0; i < n; i++) {
          if (!(v instanceof RObject)) return undefined;
          v = v.getStr(ks[i]);
        }
        return v;
      };
    }
    return (f) => {
      let v = head(f);
      for (let i = 0; i < n && v !== undefined; i++) {
        const k = keys[i](f);
        if (k === undefined) return undefined;
        v = lookup(v, k);
      }
      return v;
    };
  }

  /** data.a.b[x]…: walk the rule tree statically as far as constant keys go. */
  directDataRef(t: RT & { t: "ref" }, keys: Direct[], _bound: Set<number>): Direct {
    const { node, index: i } = this.dataPrefix(t.path);
    const start = node;
    const rest = keys.slice(i);
    const n = rest.length;
    const startIdx = i;
    const path = t.path;
    // common case: the whole ref names a rule (data.pkg.rule, or a rule name in the package)
    if (n === 0)
      return (f) => {
        const c = start.constVal;
        return c !== undefined && !f.ev.dataOv ? c : f.ev.nodeValue(start);
      };
    return (f) => {
      const ev = f.ev;
      let nd = start;
      let j = 0;
      // continue walking nodes at run time for dynamic keys
      while (j < n && !nd.hasValueRules && !nd.isFunction && nd.objects.length === 0) {
        const k = rest[j](f);
        if (k === undefined) return undefined;
        const c = typeof k === "string" ? nd.children.get(k) : undefined;
        if (!c) {
          // base data only below here
          if (ev.dataOv) {
            const ks: Value[] = [];
            for (let m = j; m < n; m++) {
              const kk = rest[m](f);
              if (kk === undefined) return undefined;
              ks.push(kk);
            }
            return ev.baseLookup(nd, ks);
          }
          let v: Value | undefined = lookupBase(nd.base, k);
          for (let m = j + 1; m < n && v !== undefined; m++) {
            const kk = rest[m](f);
            if (kk === undefined) return undefined;
            v = lookupBase(v, kk);
          }
          return v;
        }
        nd = c;
        j++;
      }
      let v = ev.nodeValue(nd);
      for (; j < n && v !== undefined; j++) {
        const k = rest[j](f);
        if (k === undefined) return undefined;
        v = lookup(v, k);
      }
      void path;
      void startIdx;
      return v;
    };
  }

  directCall(t: RT & { t: "call" }, bound: Set<number>): Direct | null {
    if (t.out) return null;
    const args = t.args.map((a) => this.directOrNull(a, bound));
    if (args.some((a) => a === null)) return null;
    const ds = args as Direct[];
    const n = ds.length;
    const loc = t.loc;
    const fn = t.fn;
    if (fn.kind === "user") {
      const node = fn.node;
      const key = node.text;
      return (f) => {
        const av = new Array<Value>(n);
        for (let i = 0; i < n; i++) {
          const v = ds[i](f);
          if (v === undefined) return undefined;
          av[i] = v;
        }
        const ev = f.ev;
        if (ev.fnOv) {
          const o = ev.fnOv.get(key);
          if (o) return callOverride(ev, key, o, av, loc, this.pc);
        }
        return ev.callFunction(node, av, loc);
      };
    }
    const spec = fn.spec;
    const name = fn.name;
    if (spec?.relation) return null;
    // hot operators: no allocation
    if (n === 2 && spec && !spec.nondeterministic) {
      const d0 = ds[0];
      const d1 = ds[1];
      const impl = spec.impl;
      const fast = FAST_OPS[name];
      const scratch: Value[] = [null, null];
      return (f) => {
        const a = d0(f);
        if (a === undefined) return undefined;
        const b = d1(f);
        if (b === undefined) return undefined;
        const ev = f.ev;
        if (ev.fnOv?.has(name))
          return callOverride(ev, name, ev.fnOv.get(name) as FnOverride, [a, b], loc, this.pc);
        if (fast) return fast(a, b);
        // one argument array per call site: builtins must not keep it (see builtins/types.ts)
        scratch[0] = a;
        scratch[1] = b;
        const r = callBuiltin(ev, name, impl, scratch, loc);
        scratch[0] = null;
        scratch[1] = null;
        return r;
      };
    }
    return (f) => {
      const av = new Array<Value>(n);
      for (let i = 0; i < n; i++) {
        const v = ds[i](f);
        if (v === undefined) return undefined;
        av[i] = v;
      }
      const ev = f.ev;
      if (ev.fnOv?.has(name))
        return callOverride(ev, name, ev.fnOv.get(name) as FnOverride, av, loc, this.pc);
      if (name === "test.sleep") return null;
      if (!spec) {
        if (ev.strict && !ev.strictErr)
          ev.strictErr = new RegoError("eval_builtin_error", `${name}: builtin not available`, loc);
        return undefined;
      }
      return callBuiltin(ev, name, spec.impl, av, loc);
    };
  }

  directPrint(t: RT & { t: "print" }, bound: Set<number>): Direct {
    const args = t.args.map((a) => this.enumTerm(a, bound));
    return (f) => {
      const parts: string[] = [];
      for (const en of args) {
        const vals: string[] = [];
        en(f, (v) => {
          vals.push(displayText(v));
          return false;
        });
        parts.push(vals.length ? vals.join(" ") : "<undefined>");
      }
      f.ev.bctx.print(parts.join(" "));
      return true;
    };
  }

  directComp(t: RT & { t: "comp" }, bound: Set<number>): Direct {
    const wasOrdered = this.ordered;
    if (t.kind === "array") this.ordered = true;
    let body: { run: Cont; heads: Direct[] };
    try {
      body = this.compileOrderedBodyWithHead(t.body, bound, t.head);
    } finally {
      this.ordered = wasOrdered;
    }
    const heads = body.heads;
    const run = body.run;
    if (t.kind === "array") {
      const h = heads[0];
      return (f) => {
        const out: Value[] = [];
        const saved = f.done;
        f.done = (ff) => {
          const v = h(ff);
          if (v !== undefined) out.push(v);
          return false;
        };
        try {
          run(f);
        } finally {
          f.done = saved;
        }
        return out;
      };
    }
    if (t.kind === "set") {
      const h = heads[0];
      return (f) => {
        const out = new RSet();
        const saved = f.done;
        f.done = (ff) => {
          const v = h(ff);
          if (v !== undefined) out.add(v);
          return false;
        };
        try {
          run(f);
        } finally {
          f.done = saved;
        }
        return out;
      };
    }
    const [hk, hv] = heads;
    const loc = t.loc;
    return (f) => {
      const out = new RObject();
      const saved = f.done;
      f.done = (ff) => {
        const k = hk(ff);
        const v = hv(ff);
        if (k === undefined || v === undefined) return false;
        const prev = out.get(k);
        if (prev !== undefined && !equal(prev, v))
          throw new RegoError("eval_conflict_error", "object keys must be unique", loc);
        out.set(k, v);
        return false;
      };
      try {
        run(f);
      } finally {
        f.done = saved;
      }
      return out;
    };
  }

  compileOrderedBodyWithHead(body: RE[], bound: Set<number>, head: RT[]): { run: Cont; heads: Direct[] } {
    const hv = new Set<number>();
    for (const h of head) for (const s of allVars(h)) hv.add(s);
    const ordered = this.order(body, bound, hv);
    for (const h of head)
      for (const s of allVars(h))
        if (!ordered.bound.has(s)) {
          const name = h.t === "var" ? h.name : `$${s}`;
          compileError("rego_unsafe_var_error", `var ${name} is unsafe`, body[0]?.loc);
        }
    const run = this.compileBody(ordered.exprs, bound, (f) => f.done(f));
    return { run, heads: head.map((h) => this.direct(h, ordered.bound)) };
  }

  directTemplate(t: RT & { t: "template" }, bound: Set<number>): Direct {
    const parts = t.parts.map((p) => {
      if (typeof p === "string") return p;
      // each part: a one-expression body whose term value is captured
      if (p.k !== "term") compileError("rego_parse_error", "invalid template expression", t.loc);
      const slot = -1;
      void slot;
      const term = p.term;
      const withs = p.with;
      if (withs.length === 0) {
        const en = this.enumTerm(term, bound);
        return (f: Frame) => {
          let out: Value | undefined;
          en(f, (v) => {
            out = v;
            return true;
          });
          return displayText(out);
        };
      }
      // with modifiers: evaluate the term under them
      const getter = this.direct(term, bound);
      const mods = withs.map((w) => ({ w, d: w.fnValue ? null : this.direct(w.value, bound) }));
      return (f: Frame) => {
        const ev = f.ev;
        const saved = snapshot(ev);
        try {
          for (const m of mods) {
            const v = m.d ? m.d(f) : undefined;
            if (m.d && v === undefined) return displayText(undefined);
            applyWith(ev, m.w, v);
          }
          ev.gen = newGeneration();
          return displayText(getter(f));
        } finally {
          restore(ev, saved);
        }
      };
    });
    return (f) => {
      let s = "";
      for (const p of parts) s += typeof p === "string" ? p : p(f);
      return s;
    };
  }

  /**
   * Walks the rule tree along a data ref's leading constant string keys, as far as prefix nodes
   * go, and records the dependency on the node reached (unless only base data lies beyond it).
   */
  dataPrefix(path: RT[]): { node: RNode; index: number } {
    let node = this.pc.root;
    let i = 0;
    for (; i < path.length; i++) {
      const p = path[i];
      if (node.hasValueRules || node.isFunction) break;
      if (p.t !== "val" || typeof p.v !== "string") break;
      const c = node.children.get(p.v);
      if (!c) break;
      node = c;
    }
    if (!this.baseOnly(node, path, i) && !this.dynamicStop(node, path, i)) this.pc.addDep(this.owner, node);
    return { node, index: i };
  }

  /** The static walk stopped at a prefix node on a key only known at run time. */
  dynamicStop(node: RNode, path: RT[], i: number): boolean {
    if (node.hasValueRules || node.isFunction || node.objects.length > 0) return false;
    const p = path[i];
    return p !== undefined && p.t !== "val";
  }

  /** The static walk stopped at a prefix node on a constant key with no rules below it. */
  baseOnly(node: RNode, path: RT[], i: number): boolean {
    if (node.hasValueRules || node.isFunction || node.objects.length > 0) return false;
    const p = path[i];
    if (p === undefined || p.t !== "val") return false;
    if (typeof p.v === "number") return true;
    return typeof p.v === "string" && !node.children.has(p.v);
  }

  /** Enumerate the values of a term (refs with unbound vars, relation builtins, …). */
  enumTerm(t: RT, bound: Set<number>): Enum {
    const d = this.directOrNull(t, bound);
    if (d)
      return (f, k) => {
        const v = d(f);
        return v === undefined ? false : k(v);
      };
    switch (t.t) {
      case "ref":
        return this.enumRef(t, bound);
      case "call": {
        // arguments may enumerate: evaluate those that bind variables first, then call
        const n = t.args.length;
        const order: number[] = [];
        const cur = new Set(bound);
        const left = t.args.map((_, i) => i);
        while (left.length) {
          let pick = left.findIndex((i) => {
            const outs = refOutVars(t.args[i]);
            for (const s of allVars(t.args[i])) if (!cur.has(s) && !outs.has(s)) return false;
            return true;
          });
          if (pick < 0) pick = 0;
          const i = left.splice(pick, 1)[0];
          order.push(i);
          for (const s of refOutVars(t.args[i])) cur.add(s);
        }
        const argEnums: Enum[] = new Array(n);
        {
          const b2 = new Set(bound);
          for (const i of order) {
            argEnums[i] = this.enumTerm(t.args[i], new Set(b2));
            for (const s of refOutVars(t.args[i])) b2.add(s);
          }
        }
        const args = order.map((i) => argEnums[i]);
        const fn = t.fn;
        const pc = this.pc;
        const spec = t.fn.kind === "builtin" ? t.fn.spec : null;
        const loc = t.loc;
        const name = t.fn.name;
        return (f, k) => {
          const av = new Array<Value>(n);
          const go = (i: number): boolean => {
            if (i === n) {
              if (spec?.relation) {
                const res = callBuiltin(f.ev, name, spec.impl, av.slice(), loc);
                if (!Array.isArray(res)) return false;
                for (const r of res) if (k(r)) return true;
                return false;
              }
              const v = invokeFn(f.ev, fn, av.slice(), loc, pc);
              return v === undefined ? false : k(v);
            }
            return args[i](f, (v) => {
              av[order[i]] = v;
              return go(i + 1);
            });
          };
          return go(0);
        };
      }
      case "array":
      case "set": {
        const items = t.items.map((x) => this.enumTerm(x, bound));
        const kind = t.t;
        return (f, k) => {
          const vals: Value[] = [];
          const go = (i: number): boolean => {
            if (i === items.length) return k(kind === "array" ? vals.slice() : makeSetOf(vals));
            return items[i](f, (v) => {
              vals[i] = v;
              return go(i + 1);
            });
          };
          return go(0);
        };
      }
      case "object": {
        const flat = t.pairs.flatMap(([a, b]) => [this.enumTerm(a, bound), this.enumTerm(b, bound)]);
        return (f, k) => {
          const vals: Value[] = [];
          const go = (i: number): boolean => {
            if (i === flat.length) {
              const o = new RObject();
              for (let j = 0; j < vals.length; j += 2) o.set(vals[j], vals[j + 1]);
              return k(o);
            }
            return flat[i](f, (v) => {
              vals[i] = v;
              return go(i + 1);
            });
          };
          return go(0);
        };
      }
      case "var":
        compileError("rego_unsafe_var_error", `var ${t.name} is unsafe`, t.loc);
        break;
      default:
        break;
    }
    const dd = this.direct(t, bound);
    return (f, k) => {
      const v = dd(f);
      return v === undefined ? false : k(v);
    };
  }

  enumRef(t: RT & { t: "ref" }, bound: Set<number>): Enum {
    const ordered = this.ordered;
    // evaluate the head (enumerating if needed), then walk the path binding unbound vars
    const steps = t.path.map((p) => {
      if (p.t === "var") return { slot: p.s, d: null as Direct | null, pat: null };
      const d = this.directOrNull(p, bound);
      if (d) return { slot: -1, d, pat: null };
      return { slot: -1, d: null, pat: this.patternK(p, bound) };
    });
    const n = steps.length;
    const walk = (f: Frame, v: Value | undefined, i: number, k: (v: Value) => boolean): boolean => {
      if (v === undefined) return false;
      if (i === n) return k(v);
      const st = steps[i];
      if (st.d) {
        const key = st.d(f);
        if (key === undefined) return false;
        return walk(f, lookup(v, key), i + 1, k);
      }
      if (st.slot >= 0) {
        const cur = f.v[st.slot];
        if (cur !== undefined) return walk(f, lookup(v, cur), i + 1, k);
        const s = st.slot;
        if (v === null || typeof v !== "object") return false;
        return forEachEntry(
          v,
          (key, val) => {
            f.v[s] = key;
            const r = walk(f, val, i + 1, k);
            f.v[s] = undefined;
            return r;
          },
          ordered,
        );
      }
      const pat = st.pat as (f: Frame, v: Value, k: Cont) => boolean;
      if (v === null || typeof v !== "object") return false;
      return forEachEntry(v, (key, val) => pat(f, key, (ff) => walk(ff, val, i + 1, k)), ordered);
    };
    if (t.head.t === "data") {
      // walk the rule tree: enumerate children of prefix nodes lazily
      const { node: start, index: startIdx } = this.dataPrefix(t.path);
      const walkData = (f: Frame, nd: RNode, i: number, k: (v: Value) => boolean): boolean => {
        const ev = f.ev;
        if (i === n || nd.hasValueRules || nd.isFunction || nd.objects.length > 0 || ev.overriddenAt(nd.path))
          return walk(f, ev.nodeValue(nd), i, k);
        const st = steps[i];
        let key: Value | undefined;
        if (st.d) key = st.d(f);
        else if (st.slot >= 0) key = f.v[st.slot];
        else return walk(f, ev.nodeValue(nd), i, k);
        if (key !== undefined) {
          if (typeof key === "string") {
            const c = nd.children.get(key);
            if (c) return walkData(f, c, i + 1, k);
          }
          return walk(f, ev.dataOv ? ev.baseLookup(nd, [key]) : lookupBase(nd.base, key), i + 1, k);
        }
        // enumerate child nodes and base keys in order
        const s = st.slot;
        const keys = new Set<string>(nd.children.keys());
        if (ev.dataOv)
          for (const o of ev.dataOv)
            if (o.path.length > nd.path.length && nd.path.every((p, j) => o.path[j] === p))
              keys.add(o.path[nd.path.length]);
        const base = nd.base;
        if (base instanceof RObject) for (const bk of base.keys()) if (typeof bk === "string") keys.add(bk);
        const sorted = [...keys].sort();
        for (const kk of sorted) {
          f.v[s] = kk;
          const c = nd.children.get(kk);
          const r = c
            ? walkData(f, c, i + 1, k)
            : walk(f, ev.dataOv ? ev.baseLookup(nd, [kk]) : lookup(base, kk), i + 1, k);
          f.v[s] = undefined;
          if (r) return true;
        }
        if (base instanceof RObject)
          for (const bk of base.sortedKeys()) {
            if (typeof bk === "string") continue;
            f.v[s] = bk;
            const r = walk(f, base.get(bk), i + 1, k);
            f.v[s] = undefined;
            if (r) return true;
          }
        return false;
      };
      return (f, k) => walkData(f, start, startIdx, k);
    }
    const head = this.enumTerm(t.head, bound);
    return (f, k) => head(f, (hv) => walk(f, hv, 0, k));
  }
}

// ---------- helpers used by generated code ----------

// operators that cannot fail: called without the builtin error machinery
const FAST_OPS: Record<string, ((a: Value, b: Value) => Value) | undefined> = {
  equal: (a, b) => equal(a, b),
  neq: (a, b) => !equal(a, b),
  lt: (a, b) => compare(a, b) < 0,
  lte: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  gte: (a, b) => compare(a, b) >= 0,
  "internal.member_2": (a, b) => member2(a, b),
};

function makeSetOf(vals: Value[]): RSet {
  const s = new RSet();
  for (const v of vals) s.add(v);
  return s;
}

/** Call a builtin or user function with evaluated arguments (honouring `with` replacements). */
function invokeFn(ev: Ev, fn: FnTarget, args: Value[], loc: Loc, pc: CompiledPolicy): Value | undefined {
  const key = fn.kind === "user" ? fn.node.text : fn.name;
  const o = ev.fnOv?.get(key);
  if (o) return callOverride(ev, key, o, args, loc, pc);
  if (fn.kind === "user") return ev.callFunction(fn.node, args, loc);
  if (fn.name === "test.sleep") return null;
  if (!fn.spec) {
    if (ev.strict && !ev.strictErr)
      ev.strictErr = new RegoError("eval_builtin_error", `${fn.name}: builtin not available`, loc);
    return undefined;
  }
  return callBuiltin(ev, fn.name, fn.spec.impl, args, loc);
}

export function callBuiltin(
  ev: Ev,
  name: string,
  impl: (args: Value[], bctx: Ev["bctx"]) => Value | undefined,
  args: Value[],
  loc: Loc,
): Value | undefined {
  const bctx = ev.bctx;
  bctx.name = name;
  try {
    return impl(args, bctx);
  } catch (e) {
    if (e instanceof RegoError) throw e;
    if (ev.strict && !ev.strictErr) {
      const code = e instanceof BuiltinError ? e.code : "eval_builtin_error";
      const msg = e instanceof Error ? e.message : String(e);
      ev.strictErr = new RegoError(code, msg.startsWith(`${name}:`) ? msg : `${name}: ${msg}`, loc);
    }
    return undefined;
  }
}

function callOverride(
  ev: Ev,
  key: string,
  o: FnOverride,
  args: Value[],
  loc: Loc,
  pc: CompiledPolicy,
): Value | undefined {
  if (o.value !== undefined) return o.value;
  if (o.node) {
    // inside the replacement, the replaced function is the original again (no recursion through the mock)
    const saved = ev.fnOv;
    if (saved?.has(key)) {
      const m = new Map(saved);
      m.delete(key);
      ev.fnOv = m.size ? m : null;
    }
    try {
      return ev.callFunction(o.node, args, loc);
    } finally {
      ev.fnOv = saved;
    }
  }
  if (o.builtin) {
    const spec = pc.builtin(o.builtin);
    if (!spec) return undefined;
    const fast = FAST_OPS[o.builtin];
    if (fast && args.length === 2) return fast(args[0], args[1]);
    return callBuiltin(ev, o.builtin, spec.impl, args, loc);
  }
  return undefined;
}

interface Snapshot {
  input: Value | undefined;
  dataOv: DataOverride[] | null;
  fnOv: Map<string, FnOverride> | null;
  gen: number;
}

const withStacks = new WeakMap<Ev, Snapshot[]>();

function snapshot(ev: Ev): Snapshot {
  return { input: ev.input, dataOv: ev.dataOv, fnOv: ev.fnOv, gen: ev.gen };
}
function restore(ev: Ev, s: Snapshot): void {
  ev.input = s.input;
  ev.dataOv = s.dataOv;
  ev.fnOv = s.fnOv;
  ev.gen = s.gen;
}

function applyWith(ev: Ev, w: RWith, v: Value | undefined): void {
  if (w.kind === "input") {
    ev.input = w.path.length === 0 ? v : patchValue(ev.input, w.path, v as Value);
  } else if (w.kind === "data") {
    ev.dataOv = [...(ev.dataOv ?? []), { path: w.path, value: v as Value }];
  } else {
    const m = new Map(ev.fnOv ?? []);
    m.set(w.fnKey, w.fnValue ?? { value: v as Value });
    ev.fnOv = m;
  }
}

function foldConst(t: RT): RT {
  if (t.t === "array") {
    if (t.items.every((x) => x.t === "val"))
      return { t: "val", v: t.items.map((x) => (x as { v: Value }).v) };
  } else if (t.t === "set") {
    if (t.items.every((x) => x.t === "val"))
      return { t: "val", v: makeSetOf(t.items.map((x) => (x as { v: Value }).v)) };
  } else if (t.t === "object") {
    if (t.pairs.every(([k, v]) => k.t === "val" && v.t === "val")) {
      const o = new RObject();
      for (const [k, v] of t.pairs) o.set((k as { v: Value }).v, (v as { v: Value }).v);
      return { t: "val", v: o };
    }
  }
  return t;
}

function isAstPattern(t: Term): boolean {
  if (t.t === "var" || t.t === "scalar") return true;
  if (t.t === "array" || t.t === "set") return t.items.every(isAstPattern);
  if (t.t === "object") return t.pairs.every(([k, v]) => k.t === "scalar" && isAstPattern(v));
  return false;
}

function isAssignable(t: RT): boolean {
  if (t.t === "var") return true;
  if (t.t === "array" || t.t === "set") return t.items.every(isAssignable);
  if (t.t === "object") return t.pairs.every(([, v]) => isAssignable(v));
  return t.t === "val";
}

function outerCaptured(inner: Scope, outer: Scope): Set<number> {
  // slots of enclosing scopes referenced from inside (directly or by nested scopes)
  const out = new Set<number>();
  for (const s of inner.captured) if (!inner.own.has(s)) out.add(s);
  void outer;
  return out;
}

function fnArity(node: RNode): number {
  return node.funcs[0]?.arity ?? node.dflt?.arity ?? 0;
}

/** Dotted name of a var or a ref made of a var and constant string keys. */
function dottedName(t: Term): string | null {
  if (t.t === "var") return t.name;
  if (t.t === "ref" && t.head.t === "var") {
    const parts = [t.head.name];
    for (const p of t.path) {
      if (p.t !== "scalar" || typeof p.v !== "string") return null;
      parts.push(p.v);
    }
    return parts.join(".");
  }
  return null;
}

export { Frame };
