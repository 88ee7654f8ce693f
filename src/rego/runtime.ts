// Evaluation runtime shared by compiled rule bodies: frames, per-query state, the rule tree
// (virtual documents under `data`), rule evaluation with conflict detection, and `with`.
//
// Compiled code (./compiler.ts) is continuation-passing: a step is `(f: Frame) => boolean`
// that calls the next step for every solution; returning true stops the enumeration (used
// for early exit: `not`, existence checks, constant-valued rules).

import type { Loc } from "./ast.js";
import type { BuiltinContext } from "./builtins/types.js";
import { equal, keyOf, type MapKey, RObject, RSet, toRegoText, type Value } from "./value.js";

export type Cont = (f: Frame) => boolean;
/** Evaluate a term to its single value (undefined = no value). */
export type Direct = (f: Frame) => Value | undefined;
/** Enumerate the values of a term. */
export type Enum = (f: Frame, k: (v: Value) => boolean) => boolean;

export class RegoError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly loc?: Loc,
  ) {
    super(loc ? `${loc.file}:${loc.line}: ${code}: ${detail}` : `${code}: ${detail}`);
    this.name = "RegoError";
  }
}

export class Frame {
  readonly v: (Value | undefined)[];
  done: Cont;
  /** rule being evaluated in this frame, and its accumulated result (no per-call closures) */
  rule: CRule | null = null;
  acc: Value | undefined = undefined;
  out: RSet | RObject | null = null;
  constructor(
    n: number,
    readonly ev: Ev,
    done: Cont,
  ) {
    this.v = n === 0 ? EMPTY_SLOTS : new Array(n);
    this.done = done;
  }
}

/** Body end for complete rules and functions: record the value, detect conflicts. */
function completeDone(f: Frame): boolean {
  const r = f.rule as CRule;
  const v = (r.value as Direct)(f);
  if (v === undefined) return false;
  if (f.acc !== undefined && !equal(f.acc, v))
    throw new RegoError(
      "eval_conflict_error",
      r.kind === "func"
        ? "functions must not produce multiple outputs for same inputs"
        : "complete rules must not produce multiple outputs",
      r.loc,
    );
  f.acc = v;
  return r.constValue;
}

function setDone(f: Frame): boolean {
  const k = ((f.rule as CRule).key as Direct)(f);
  if (k !== undefined) (f.out as RSet).add(k);
  return false;
}

function objectDone(f: Frame): boolean {
  const r = f.rule as CRule;
  if (r.key) return multiValueDone(f, r);
  const v = (r.value as Direct)(f);
  if (v === undefined) return false;
  const keys: Value[] = [];
  for (const s of r.suffix) {
    const k = s(f);
    if (k === undefined) return false;
    keys.push(k);
  }
  insertPath(f.out as RObject, keys, v, r.loc);
  return false;
}
const EMPTY_SLOTS: (Value | undefined)[] = [];

export type RuleKind = "complete" | "set" | "object" | "func";

export interface CRule {
  kind: RuleKind;
  node: RNode;
  nslots: number;
  /** body chain; ends by calling f.done(f) */
  body: Cont;
  /** object/ref-head rules: keys below the node, evaluated after the body */
  suffix: Direct[];
  /** set rules: the element */
  key: Direct | null;
  /** complete/object/func: the value */
  value: Direct | null;
  /** value does not depend on body bindings: the first solution decides */
  constValue: boolean;
  /** functions: bind arguments into the frame; returns false if they do not match */
  params: ((f: Frame, args: Value[]) => boolean) | null;
  arity: number;
  /** bodyless rule with a constant value */
  constant?: Value;
  /** the body starts with `input.<path> == value` (see rule indexing) */
  index?: { path: string[]; value: Value };
  else: CRule | null;
  isDefault: boolean;
  loc: Loc;
}

let generation = 1;
/** Fresh cache generation (globally unique so nodes shared between queries never mix). */
export function newGeneration(): number {
  return ++generation;
}

/** One node of the `data` tree: a package path, a rule, or both. */
export class RNode {
  readonly children = new Map<string, RNode>();
  complete: CRule[] = [];
  sets: CRule[] = [];
  objects: CRule[] = [];
  funcs: CRule[] = [];
  dflt: CRule | null = null;
  /** base document at this path (from the store) */
  base: Value | undefined;
  /** rule indexes by input value, per rule list (built when many rules test the same input path) */
  indexes: Partial<Record<"complete" | "sets" | "objects", RuleIndex>> = {};
  /** value of a node defined by one constant rule (`xs := {...}`): no evaluation needed */
  constVal: Value | undefined;
  cacheGen = 0;
  /** a package is declared at this path */
  isPackage = false;
  cacheVal: Value | undefined;
  /** text for messages, e.g. data.pkg.rule */
  readonly text: string;
  constructor(readonly path: string[]) {
    this.text = ["data", ...path].join(".");
  }
  child(name: string): RNode {
    let c = this.children.get(name);
    if (!c) {
      c = new RNode([...this.path, name]);
      this.children.set(name, c);
    }
    return c;
  }
  get hasValueRules(): boolean {
    return this.complete.length > 0 || this.sets.length > 0 || this.dflt !== null;
  }
  get isFunction(): boolean {
    return this.funcs.length > 0;
  }
}

export interface RuleIndex {
  path: string[];
  byValue: Map<MapKey, CRule[]>;
  /** rules not indexed on this path: always evaluated */
  rest: CRule[];
}

export interface FnOverride {
  /** replacement value (constant function result) */
  value?: Value;
  /** replacement function: builtin name or function node */
  builtin?: string;
  node?: RNode;
}

export interface DataOverride {
  path: string[];
  value: Value;
}

/** Per-query state. */
export class Ev {
  input: Value | undefined;
  gen: number = newGeneration();
  dataOv: DataOverride[] | null = null;
  fnOv: Map<string, FnOverride> | null = null;
  strict = false;
  strictErr: RegoError | null = null;
  bctx: BuiltinContext;
  /** rule nodes being evaluated (recursion guard for dynamic refs) */
  depth = 0;

  constructor(
    readonly root: RNode,
    input: Value | undefined,
    bctx: BuiltinContext,
  ) {
    this.input = input;
    this.bctx = bctx;
  }

  // ---------- virtual documents ----------

  /** The value of the document at `node` (rules evaluated, base data merged). */
  nodeValue(node: RNode): Value | undefined {
    if (this.dataOv) return this.nodeValueWithOverrides(node);
    return this.rawNodeValue(node);
  }

  rawNodeValue(node: RNode): Value | undefined {
    if (node.constVal !== undefined) return node.constVal;
    if (node.cacheGen === this.gen) return node.cacheVal;
    let v: Value | undefined;
    if (node.complete.length > 0 || node.dflt) v = this.evalComplete(node);
    else if (node.sets.length > 0) v = this.evalSet(node);
    else if (node.isFunction) v = undefined;
    else v = this.materialize(node);
    node.cacheGen = this.gen;
    node.cacheVal = v;
    return v;
  }

  /** A node without complete/set rules: object of base data + object rules + children. */
  materialize(node: RNode): Value | undefined {
    if (node.children.size === 0 && node.objects.length === 0)
      return node.base ?? (node.isPackage ? EMPTY : undefined);
    let obj: RObject;
    if (node.base instanceof RObject)
      obj = new RObject(new Map(node.base.m), node.base.ck && new Map(node.base.ck));
    else obj = new RObject();
    if (node.objects.length > 0) this.evalObjectRules(node, obj);
    for (const [name, child] of node.children) {
      if (child.isFunction) continue;
      const cv = this.nodeValue(child);
      if (cv !== undefined) {
        const existing = obj.getStr(name);
        if (existing === undefined) obj.set(name, cv);
        else if (existing instanceof RObject && cv instanceof RObject)
          obj.set(name, mergeObjects(existing, cv));
        else if (node.base instanceof RObject && node.base.getStr(name) !== undefined) {
          // base documents win over rules at the same path (as OPA's store does)
        } else if (!equal(existing, cv)) {
          const r = child.complete[0] ?? child.sets[0] ?? node.objects[0];
          throw new RegoError("eval_conflict_error", "object keys must be unique", r?.loc);
        }
      }
    }
    if (obj.size === 0 && node.base === undefined && node.objects.length > 0) return obj;
    return obj;
  }

  /** The rules of a list worth running for the current input (all of them without an index). */
  candidates(node: RNode, list: "complete" | "sets" | "objects"): CRule[] {
    const idx = node.indexes[list];
    if (!idx) return node[list];
    let v: Value | undefined = this.input;
    for (const k of idx.path) {
      if (!(v instanceof RObject)) {
        v = undefined;
        break;
      }
      v = v.getStr(k);
    }
    if (v === undefined || (v !== null && typeof v === "object"))
      return v === undefined ? idx.rest : node[list];
    const hit = idx.byValue.get(keyOf(v));
    return hit ? (idx.rest.length ? [...hit, ...idx.rest] : hit) : idx.rest;
  }

  evalComplete(node: RNode): Value | undefined {
    let result: Value | undefined;
    for (const rule of this.candidates(node, "complete")) {
      const v = this.evalRuleChain(rule);
      if (v === undefined) continue;
      if (result !== undefined && !equal(result, v))
        throw new RegoError(
          "eval_conflict_error",
          "complete rules must not produce multiple outputs",
          rule.loc,
        );
      result = v;
    }
    if (result === undefined && node.dflt)
      result = node.dflt.value?.(new Frame(node.dflt.nslots, this, stop));
    return result;
  }

  /** Value of one complete rule and its else chain. */
  evalRuleChain(first: CRule): Value | undefined {
    for (let rule: CRule | null = first; rule; rule = rule.else) {
      const f = new Frame(rule.nslots, this, completeDone);
      f.rule = rule;
      this.runBody(rule, f);
      if (f.acc !== undefined) return f.acc;
    }
    return undefined;
  }

  runBody(rule: CRule, f: Frame): void {
    if (++this.depth > MAX_DEPTH)
      throw new RegoError(
        "eval_internal_error",
        `rule evaluation nested deeper than ${MAX_DEPTH} at ${rule.node.text} (recursion through a dynamic reference?)`,
        rule.loc,
      );
    try {
      rule.body(f);
    } finally {
      this.depth--;
    }
  }

  evalSet(node: RNode): RSet {
    const out = new RSet();
    for (const rule of this.candidates(node, "sets")) {
      const f = new Frame(rule.nslots, this, setDone);
      f.rule = rule;
      f.out = out;
      this.runBody(rule, f);
    }
    return out;
  }

  evalObjectRules(node: RNode, obj: RObject): void {
    for (const rule of this.candidates(node, "objects")) {
      const f = new Frame(rule.nslots, this, objectDone);
      f.rule = rule;
      f.out = obj;
      this.runBody(rule, f);
    }
  }

  /** Call a user-defined function. */
  callFunction(node: RNode, args: Value[], loc: Loc): Value | undefined {
    let result: Value | undefined;
    for (const first of node.funcs) {
      if (first.arity !== args.length) continue;
      for (let rule: CRule | null = first; rule; rule = rule.else) {
        const f = new Frame(rule.nslots, this, completeDone);
        f.rule = rule;
        if (!(rule.params as (f: Frame, a: Value[]) => boolean)(f, args)) continue;
        this.runBody(rule, f);
        const val = f.acc;
        if (val !== undefined) {
          if (result !== undefined && !equal(result, val))
            throw new RegoError(
              "eval_conflict_error",
              "functions must not produce multiple outputs for same inputs",
              rule.loc,
            );
          result = val;
          break;
        }
      }
    }
    if (result === undefined && node.dflt && node.dflt.arity === args.length)
      result = node.dflt.value?.(new Frame(node.dflt.nslots, this, stop));
    void loc;
    return result;
  }

  // ---------- with ----------

  nodeValueWithOverrides(node: RNode): Value | undefined {
    const ov = this.dataOv as DataOverride[];
    const p = node.path;
    // an override at or above this node decides
    for (let i = ov.length - 1; i >= 0; i--) {
      const o = ov[i];
      if (o.path.length <= p.length && isPrefix(o.path, p)) return derefPath(o.value, p.slice(o.path.length));
    }
    let v = this.rawNodeValue(node);
    for (const o of ov) {
      if (o.path.length > p.length && isPrefix(p, o.path)) {
        v = patchValue(v, o.path.slice(p.length), o.value);
      }
    }
    return v;
  }

  /**
   * Value of base data below prefix node `nd` at `keys` (no rules there), with `with data…`
   * overrides applied.
   */
  baseLookup(nd: RNode, keys: Value[]): Value | undefined {
    let v = nd.base;
    if (!this.dataOv) {
      for (const k of keys) {
        v = lookupBase(v, k);
        if (v === undefined) return undefined;
      }
      return v;
    }
    const ov = this.dataOv;
    const path: string[] = [...nd.path];
    for (let i = ov.length - 1; i >= 0; i--)
      if (ov[i].path.length <= path.length && isPrefix(ov[i].path, path)) {
        v = derefPath(ov[i].value, path.slice(ov[i].path.length));
        break;
      }
    let exactDone = false;
    for (const k of keys) {
      if (typeof k === "string" && !exactDone) {
        path.push(k);
        let hit = false;
        for (let i = ov.length - 1; i >= 0; i--)
          if (ov[i].path.length === path.length && isPrefix(ov[i].path, path)) {
            v = ov[i].value;
            hit = true;
            break;
          }
        if (hit) continue;
      } else exactDone = true;
      v = lookupBase(v, k);
      if (v === undefined && exactDone) return undefined;
    }
    if (!exactDone)
      for (const o of ov)
        if (o.path.length > path.length && isPrefix(path, o.path))
          v = patchValue(v, o.path.slice(path.length), o.value);
    return v;
  }

  /** Is the document at `path` replaced by a `with data…` at or above it? */
  overriddenAt(path: string[]): boolean {
    if (!this.dataOv) return false;
    for (const o of this.dataOv) if (o.path.length <= path.length && isPrefix(o.path, path)) return true;
    return false;
  }

  /** Is there an override strictly below `path`? (then base data lookups must patch) */
  hasOverrideBelow(path: string[]): boolean {
    if (!this.dataOv) return false;
    for (const o of this.dataOv) if (o.path.length > path.length && isPrefix(path, o.path)) return true;
    return false;
  }
}

export const stop: Cont = () => true;
/** nested rule evaluations before giving up (recursion through dynamic refs is only caught here) */
const MAX_DEPTH = 400;
const EMPTY = new RObject();

function isPrefix(a: string[], b: string[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function derefPath(v: Value | undefined, path: string[]): Value | undefined {
  let cur = v;
  for (const k of path) {
    if (cur instanceof RObject) cur = cur.getStr(k);
    else return undefined;
  }
  return cur;
}

/** Copy `v` with the value at `path` replaced (objects created as needed). */
export function patchValue(v: Value | undefined, path: Value[], value: Value): Value {
  if (path.length === 0) return value;
  const obj = v instanceof RObject ? new RObject(new Map(v.m), v.ck && new Map(v.ck)) : new RObject();
  obj.set(path[0], patchValue(obj.get(path[0]), path.slice(1), value));
  return obj;
}

function mergeObjects(a: RObject, b: RObject): RObject {
  const out = new RObject(new Map(a.m), a.ck && new Map(a.ck));
  for (const [k, v] of b.entries()) {
    const e = out.get(k);
    if (e instanceof RObject && v instanceof RObject) out.set(k, mergeObjects(e, v));
    else out.set(k, v);
  }
  return out;
}

/** `a[x].b contains y`: add y to the set at the key path. */
function multiValueDone(f: Frame, r: CRule): boolean {
  const elem = (r.key as Direct)(f);
  if (elem === undefined) return false;
  const keys: Value[] = [];
  for (const s of r.suffix) {
    const k = s(f);
    if (k === undefined) return false;
    keys.push(k);
  }
  let cur = f.out as RObject;
  for (let i = 0; i < keys.length - 1; i++) {
    let next = cur.get(keys[i]);
    if (next === undefined) {
      next = new RObject();
      cur.set(keys[i], next);
    } else if (!(next instanceof RObject))
      throw new RegoError("eval_conflict_error", "object keys must be unique", r.loc);
    cur = next;
  }
  const last = keys[keys.length - 1];
  let set = cur.get(last);
  if (set === undefined) {
    set = new RSet();
    cur.set(last, set);
  } else if (!(set instanceof RSet))
    throw new RegoError("eval_conflict_error", "object keys must be unique", r.loc);
  set.add(elem);
  return false;
}

/** Insert value at a key path into a fresh object being built (ref-head rules). */
function insertPath(obj: RObject, keys: Value[], v: Value, loc: Loc): void {
  let cur = obj;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i];
    let next = cur.get(k);
    if (next === undefined) {
      next = new RObject();
      cur.set(k, next);
    } else if (!(next instanceof RObject))
      throw new RegoError("eval_conflict_error", "object keys must be unique", loc);
    cur = next;
  }
  const last = keys[keys.length - 1];
  const existing = cur.get(last);
  if (existing !== undefined) {
    if (equal(existing, v)) return;
    if (existing instanceof RObject && v instanceof RObject) {
      cur.set(last, mergeObjects(existing, v));
      return;
    }
    throw new RegoError("eval_conflict_error", "object keys must be unique", loc);
  }
  cur.set(last, v);
}

// ---------- dereferencing values ----------

/** Lookup in base documents: the store's object keys are strings, so number keys match their text. */
export function lookupBase(v: Value | undefined, key: Value): Value | undefined {
  if (v instanceof RObject && (typeof key === "number" || typeof key === "bigint")) {
    return v.get(key) ?? v.getStr(String(key));
  }
  return lookup(v, key);
}

/** Look up one key in a collection value (array index, object key, set member). */
export function lookup(v: Value | undefined, key: Value): Value | undefined {
  if (v instanceof RObject) return typeof key === "string" ? v.getStr(key) : v.get(key);
  if (Array.isArray(v)) {
    if (typeof key === "number" && Number.isInteger(key) && key >= 0) return v[key];
    return undefined;
  }
  if (v instanceof RSet) return v.has(key) ? key : undefined;
  return undefined;
}

/** Enumerate key/value pairs of a collection in Rego's deterministic order. */
export function forEachEntry(
  v: Value | undefined,
  k: (key: Value, val: Value) => boolean,
  ordered = true,
): boolean {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (k(i, v[i])) return true;
    return false;
  }
  if (v instanceof RObject) {
    if (!ordered || v.m.size < 2) {
      for (const [mk, val] of v.m) if (k(v.keyFor(mk), val)) return true;
      return false;
    }
    for (const key of v.sortedKeys()) if (k(key, v.get(key) as Value)) return true;
    return false;
  }
  if (v instanceof RSet) {
    if (!ordered || v.m.size < 2) {
      for (const e of v.m.values()) if (k(e, e)) return true;
      return false;
    }
    for (const e of v.sortedElems()) if (k(e, e)) return true;
  }
  return false;
}

/** Text of a value for print and string interpolation: strings raw, others as Rego terms. */
export function displayText(v: Value | undefined): string {
  if (v === undefined) return "<undefined>";
  return typeof v === "string" ? v : toRegoText(v);
}
