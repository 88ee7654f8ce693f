// `opa eval`-compatible query evaluation: every query expression gets its value (term
// expressions their value, everything else `true`), every query variable its binding.

import type { Expr, Term } from "../ast.js";
import { lookupBuiltin } from "../builtins/types.js";
import type { CompiledQuery } from "../compiler.js";
import {
  type EvalOptions,
  type Policy,
  PreparedQuery,
  parseQuery,
  RegoCompileError,
  type Value,
} from "../index.js";

export interface ExpressionResult {
  value: Value;
  text: string;
  location: { row: number; col: number };
}

export interface EvalResultRow {
  expressions: ExpressionResult[];
  bindings: Record<string, Value>;
}

const EXPR_VAR = "__warden_expr";

/** Whether a term expression yields a value (not a call that binds an output argument). */
function yieldsValue(e: Expr): boolean {
  if (e.k !== "term" || e.negated) return false;
  const t = e.term;
  if (t.t !== "call") return true;
  const name = t.op.t === "scalar" ? String(t.op.v) : t.op.t === "var" ? t.op.name : refName(t.op);
  const spec = name ? lookupBuiltin(name) : undefined;
  if (spec) return spec.arity < 0 || t.args.length <= spec.arity;
  return true;
}

function refName(t: Term): string | undefined {
  if (t.t !== "ref" || t.head.t !== "var") return undefined;
  const parts = [t.head.name];
  for (const p of t.path) {
    if (p.t !== "scalar" || typeof p.v !== "string") return undefined;
    parts.push(p.v);
  }
  return parts.join(".");
}

/** Source text of each expression, cut from the query at the expressions' locations. */
function expressionTexts(query: string, exprs: Expr[]): string[] {
  const lines = query.split("\n");
  const offset = (line: number, col: number) => {
    let o = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) o += lines[i].length + 1;
    return o + col - 1;
  };
  const starts = exprs.map((e) => offset(e.loc.line, e.loc.col));
  return starts.map((s, i) =>
    query
      .slice(s, i + 1 < starts.length ? starts[i + 1] : query.length)
      .trim()
      .replace(/;\s*$/, "")
      .trim(),
  );
}

export function evalQuery(policy: Policy, query: string, opts: EvalOptions): EvalResultRow[] {
  const exprs = parseQuery(query);
  const texts = expressionTexts(query, exprs);
  const wrapped = exprs.map(yieldsValue);
  const build = (wrap: boolean[]): Expr[] =>
    exprs.map((e, i) =>
      wrap[i] && e.k === "term"
        ? {
            k: "unify",
            a: { t: "var", name: `${EXPR_VAR}${i}`, loc: e.loc },
            b: e.term,
            negated: false,
            with: e.with,
            loc: e.loc,
          }
        : e,
    );
  let compiled: CompiledQuery;
  let wrap = wrapped;
  try {
    compiled = policy.compiled.compileQuery(build(wrap), []);
  } catch (e) {
    if (!(e instanceof RegoCompileError)) throw e;
    // e.g. a user function called with an output argument: fall back to boolean expressions
    wrap = exprs.map(() => false);
    compiled = policy.compiled.compileQuery(build(wrap), []);
  }
  const prepared = new PreparedQuery(policy, compiled);
  const res = prepared.eval(opts);
  if (res.error) throw res.error;
  const rows: EvalResultRow[] = [];
  for (const r of res.results) {
    const expressions: ExpressionResult[] = [];
    let ok = true;
    exprs.forEach((e, i) => {
      const value = wrap[i] ? r[`${EXPR_VAR}${i}`] : true;
      if (value === false) ok = false; // a false term expression fails the query
      expressions.push({
        value: value ?? true,
        text: texts[i],
        location: { row: e.loc.line, col: e.loc.col },
      });
    });
    if (!ok) continue;
    const bindings: Record<string, Value> = {};
    for (const [k, v] of Object.entries(r)) if (!k.startsWith("__")) bindings[k] = v;
    rows.push({ expressions, bindings });
  }
  return rows;
}
