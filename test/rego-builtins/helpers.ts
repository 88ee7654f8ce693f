// Evaluate a Rego query against the embedded engine and return plain JS values.
import { compilePolicy, toJS } from "../../src/rego/index.js";

export function evalRego(
  query: string,
  opts: { modules?: Record<string, string>; input?: unknown; strict?: boolean; nowNs?: bigint } = {},
): { results: Record<string, unknown>[]; error?: { code: string; message: string } } {
  const policy = compilePolicy({ modules: opts.modules ?? {} });
  const res = policy.prepareQuery(query).eval({ input: opts.input, strict: opts.strict, nowNs: opts.nowNs });
  const results = res.results.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, toJS(v)])));
  return { results, error: res.error ? { code: res.error.code, message: res.error.message } : undefined };
}

/** The value bound to `x` in the single result of `x := <expr>`; undefined if no result. */
export function value(expr: string, opts: Parameters<typeof evalRego>[1] = {}): unknown {
  const r = evalRego(`x := ${expr}`, { strict: true, ...opts });
  if (r.error) throw new Error(r.error.message);
  return r.results.length === 0 ? undefined : r.results[0].x;
}

/** The strict-mode error of evaluating `x := <expr>`. */
export function errorOf(expr: string): { code: string; message: string } | undefined {
  return evalRego(`x := ${expr}`, { strict: true }).error;
}
