// Embedded Rego engine — public API.
//
//   import { compilePolicy } from "./rego/index.js";
//
//   const policy = compilePolicy({
//     modules: { "authz.rego": src },      // or [{ name, source }]
//     data: { roles: { … } },              // base documents (plain JSON/YAML values or Values)
//     v0Compatible: false,                  // true: parse Rego v0 syntax (unless `import rego.v1`)
//     builtins: new Map([["warden.x", spec]]), // optional extra builtins (see builtins/types.ts)
//   });
//
//   // fast path: one rule / document, many times
//   const decide = policy.prepareRule("data.warden.decision");
//   const value = decide.eval(input);        // Value | undefined   (throws RegoError)
//   toJS(value)                               // plain JS view (see value.ts)
//
//   // general queries with bindings
//   const q = policy.prepareQuery("data.authz.allow = x; y := input.user");
//   const res = q.eval({ input, strict: true }); // { results: [{ x: …, y: … }], error?: RegoError }
//
//   policy.modules                            // parsed modules (AST, ./ast.ts)
//   policy.tests("test_")                     // rules named test_* per package, for test runners
//   // tests run as queries: policy.prepareQuery("data.pkg.test_x", { }).eval({ input })
//   // with support is plain Rego: prepareQuery("data.pkg.test_x with input as {…}")
//
// Errors: parse errors are RegoSyntaxError (`file:line:col: rego_parse_error: …`), compile errors
// RegoCompileError (`file:line: rego_…_error: …`), evaluation errors RegoError with OPA's codes
// (eval_conflict_error, eval_builtin_error, eval_type_error).
// Builtin functions register themselves through ./builtins/types.ts (loaded by ./builtins/index.ts).

import type { Module } from "./ast.js";
import "./builtins/index.js";
import type { BuiltinContext, BuiltinSpec } from "./builtins/types.js";
import { CompiledPolicy, type CompiledQuery, RegoCompileError } from "./compiler.js";
import { parseModule, parseQuery, parseTerm, RegoSyntaxError } from "./parser.js";
import { Ev, Frame, newGeneration, RegoError } from "./runtime.js";
import { fromJS, RObject, RSet, type Value } from "./value.js";

export { type InputPaths, referencedInputPaths } from "./input-refs.js";
export * from "./value.js";
export type { Module };
export { parseModule, parseQuery, parseTerm, RegoCompileError, RegoError, RegoSyntaxError };

export interface PolicyOptions {
  modules: Record<string, string> | { name: string; source: string }[];
  /** base documents under `data` (plain JS or Values) */
  data?: unknown;
  v0Compatible?: boolean;
  builtins?: Map<string, BuiltinSpec>;
}

export interface EvalOptions {
  input?: unknown;
  /** input is already a Value (skip conversion) */
  inputIsValue?: boolean;
  /** strict builtin errors: report the first builtin error as the query error */
  strict?: boolean;
  /** fixed clock for time.now_ns (nanoseconds) */
  nowNs?: bigint;
  /** sink for print() */
  print?: (line: string) => void;
  seed?: number;
}

export interface QueryResult {
  /** one object per solution: query variable → value */
  results: Record<string, Value>[];
  /** names of variables introduced with := in the query */
  generated: Set<string>;
  error?: RegoError;
}

class QueryBuiltinContext implements BuiltinContext {
  private now: bigint | undefined;
  private memo: Map<string, Value> | undefined;
  name = "";
  private seedValue: number | undefined;
  constructor(
    private readonly opts: EvalOptions,
    readonly strict: boolean,
  ) {
    this.now = opts.nowNs;
    this.seedValue = opts.seed;
  }
  get seed(): number {
    if (this.seedValue === undefined) this.seedValue = Math.floor(Math.random() * 2 ** 31);
    return this.seedValue;
  }
  get nowNs(): bigint {
    if (this.now === undefined) this.now = BigInt(Date.now()) * 1_000_000n;
    return this.now;
  }
  get cache(): Map<string, Value> {
    if (!this.memo) this.memo = new Map();
    return this.memo;
  }
  print(line: string): void {
    if (this.opts.print) this.opts.print(line);
    else process.stderr.write(`${line}\n`);
  }
}

const NO_OPTS: EvalOptions = {};

/** Evaluation failures that are not Rego errors (e.g. runaway recursion through dynamic refs). */
function asRegoError(e: unknown): RegoError {
  if (e instanceof RegoError) return e;
  if (e instanceof RangeError)
    return new RegoError("eval_internal_error", `evaluation too deep: ${e.message}`);
  throw e;
}

function toInput(opts: EvalOptions): Value | undefined {
  if (opts.input === undefined) return undefined;
  return opts.inputIsValue ? (opts.input as Value) : fromJS(opts.input);
}

export class PreparedRule {
  constructor(
    private readonly policy: Policy,
    readonly path: string[],
  ) {}

  /** Evaluate the document at the path. Throws RegoError on conflicts (and strict errors). */
  eval(input?: unknown, opts: EvalOptions = NO_OPTS): Value | undefined {
    const ev = new Ev(
      this.policy.compiled.root,
      input === undefined ? toInput(opts) : opts.inputIsValue ? (input as Value) : fromJS(input),
      new QueryBuiltinContext(opts, !!opts.strict),
    );
    ev.strict = !!opts.strict;
    let node = this.policy.compiled.root;
    let i = 0;
    let baseOnly = false;
    for (; i < this.path.length; i++) {
      if (node.hasValueRules || node.isFunction || node.objects.length > 0) break;
      const c = node.children.get(this.path[i]);
      if (!c) {
        baseOnly = true; // no rules below: read the base document without evaluating siblings
        break;
      }
      node = c;
    }
    let v: Value | undefined;
    try {
      if (baseOnly) return ev.baseLookup(node, this.path.slice(i));
      v = ev.nodeValue(node);
    } catch (e) {
      throw asRegoError(e);
    }
    for (; i < this.path.length && v !== undefined; i++)
      v = v instanceof RObject ? v.getStr(this.path[i]) : undefined;
    if (ev.strictErr) throw ev.strictErr;
    return v;
  }
}

export class PreparedQuery {
  constructor(
    private readonly policy: Policy,
    private readonly q: CompiledQuery,
  ) {}

  eval(opts: EvalOptions = NO_OPTS): QueryResult {
    const ev = new Ev(this.policy.compiled.root, toInput(opts), new QueryBuiltinContext(opts, !!opts.strict));
    ev.strict = !!opts.strict;
    ev.gen = newGeneration();
    const results: Record<string, Value>[] = [];
    const outVars = this.q.outVars;
    const generated = new Set(outVars.filter((v) => v.generated).map((v) => v.name));
    const f = new Frame(this.q.nslots, ev, (fr) => {
      const row: Record<string, Value> = {};
      for (const ov of outVars) {
        const v = fr.v[ov.slot];
        if (v !== undefined) row[ov.name] = v;
      }
      results.push(row);
      return false;
    });
    try {
      this.q.run(f);
    } catch (e) {
      return { results, generated, error: asRegoError(e) };
    }
    if (ev.strictErr) return { results, generated, error: ev.strictErr };
    return { results, generated };
  }
}

export interface TestRule {
  pkg: string;
  name: string;
  /** e.g. data.pkg.test_x */
  path: string;
  file: string;
  line: number;
}

export class Policy {
  readonly compiled: CompiledPolicy;
  private queries = new Map<string, PreparedQuery>();

  constructor(
    readonly modules: Module[],
    data: unknown,
    builtins?: Map<string, BuiltinSpec>,
  ) {
    this.compiled = new CompiledPolicy(modules, { builtins });
    this.compiled.compile();
    this.compiled.setBaseData(data === undefined ? undefined : data instanceof RObject ? data : fromJS(data));
  }

  /** Prepare a rule/document path like "data.pkg.rule" or "pkg.rule". */
  prepareRule(path: string | string[]): PreparedRule {
    const parts = Array.isArray(path) ? path : path.split(".");
    return new PreparedRule(this, parts[0] === "data" ? parts.slice(1) : parts);
  }

  /** Compile a query (cached by text). Compile errors throw RegoCompileError. */
  prepareQuery(query: string, pkg: string[] = []): PreparedQuery {
    const key = `${pkg.join(".")}\n${query}`;
    let q = this.queries.get(key);
    if (!q) {
      q = new PreparedQuery(this, this.compiled.compileQuery(parseQuery(query), pkg));
      this.queries.set(key, q);
    }
    return q;
  }

  /** Rules whose name starts with `prefix` (default "test_"), one entry per distinct rule path. */
  tests(prefix = "test_"): TestRule[] {
    const seen = new Set<string>();
    const out: TestRule[] = [];
    for (const m of this.modules) {
      for (const r of m.rules) {
        const head = r.head.ref[0] as { name: string };
        if (r.head.ref.length !== 1 || r.head.args || !head.name.startsWith(prefix)) continue;
        const path = ["data", ...m.pkg, head.name].join(".");
        if (seen.has(path)) continue;
        seen.add(path);
        out.push({ pkg: m.pkg.join("."), name: head.name, path, file: m.file, line: r.loc.line });
      }
    }
    return out;
  }
}

/** Parse and compile modules (+ base data) once. Throws RegoSyntaxError / RegoCompileError. */
export function compilePolicy(opts: PolicyOptions): Policy {
  const list = Array.isArray(opts.modules)
    ? opts.modules
    : Object.entries(opts.modules).map(([name, source]) => ({ name, source }));
  const modules = list.map((m) => parseModule(m.source, m.name, { v0: !!opts.v0Compatible }));
  return new Policy(modules, opts.data, opts.builtins);
}

/** Parse a Rego term of constants (e.g. an `input_term`) to a Value. */
export function termValue(src: string): Value {
  const p = new Policy([], undefined);
  const r = p.prepareQuery(`__x__ = ${src}`).eval();
  if (r.error) throw r.error;
  if (r.results.length !== 1) throw new Error(`term ${src} has no value`);
  return r.results[0].__x__;
}

export { RSet };
