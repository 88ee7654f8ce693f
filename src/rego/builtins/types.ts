// The contract between the Rego evaluator and builtin functions.
//
// A builtin module (src/rego/builtins/<group>.ts) calls `registerBuiltin` at load time; the
// module is loaded by one import line in src/rego/builtins/index.ts. The evaluator looks
// builtins up by their full dotted name ("strings.replace_n", "count", …).
//
// Calling convention:
//   impl(args, bctx) → Value      the result
//                    → undefined  the call is undefined (no result, evaluation backtracks)
//                    throw BuiltinError(code, message)
//                                 OPA's builtin error. Non-strict queries turn it into an
//                                 undefined call; strict queries record the first one and
//                                 report it when the query ends (see README of the cases).
//   Any other exception thrown is treated as eval_builtin_error with its message.
// Arguments are fully ground Values (see ../value.ts); never mutate them, and do not keep a
// reference to the `args` array itself after returning (the evaluator reuses it per call site).
// Returning or storing its elements is fine.
// `relation: true` builtins (e.g. `walk`) return a JS array of outputs; each one is a
// separate solution of the call.

import { typeName, type Value } from "../value.js";

export type BuiltinErrorCode = "eval_builtin_error" | "eval_type_error";

export class BuiltinError extends Error {
  constructor(
    readonly code: BuiltinErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "BuiltinError";
  }
}

/** `<name>: operand <pos> must be <expected> but got <actual type>` — OPA's type error text. */
export function operandTypeError(name: string, pos: number, expected: string, got: Value): BuiltinError {
  return new BuiltinError(
    "eval_type_error",
    `${name}: operand ${pos} must be ${expected} but got ${typeName(got)}`,
  );
}

/** Per-query state shared by every builtin call in one query evaluation. */
export interface BuiltinContext {
  /** Wall clock fixed at query start, nanoseconds since the epoch (time.now_ns). */
  readonly nowNs: bigint;
  /**
   * Per-query memo for non-deterministic builtins (rand.intn, uuid.rfc4122, …): the same
   * arguments must give the same value within one query. Key it as you like, e.g.
   * `"rand.intn:" + canon(args)`.
   */
  readonly cache: Map<string, Value>;
  /** Per-query random seed (a fresh one per query unless the caller fixes it). */
  readonly seed: number;
  /** Sink for `print(...)` output (one line per call). */
  print(line: string): void;
  /** Strict builtin errors are on for this query (informational: the evaluator does the handling). */
  readonly strict: boolean;
  /** Name of the builtin being called (set by the evaluator before each call). */
  name: string;
}

export type BuiltinImpl = (args: Value[], bctx: BuiltinContext) => Value | undefined;

export interface BuiltinOptions {
  /** Number of arguments (the output is not counted). */
  arity: number;
  /** Returns a JS array of outputs, each a separate solution (e.g. `walk`). */
  relation?: boolean;
  /** Result varies between queries (time, rand): never constant-folded or cached across queries. */
  nondeterministic?: boolean;
  /** Extra names the builtin is also reachable as (deprecated aliases). */
  aliases?: string[];
}

export interface BuiltinSpec extends BuiltinOptions {
  name: string;
  impl: BuiltinImpl;
}

/** The default registry, filled by the builtin modules at load time. */
const registry = new Map<string, BuiltinSpec>();

export function registerBuiltin(name: string, impl: BuiltinImpl, opts: BuiltinOptions): void {
  const spec: BuiltinSpec = { ...opts, name, impl };
  registry.set(name, spec);
  for (const alias of opts.aliases ?? []) registry.set(alias, { ...spec, name: alias });
}

export function lookupBuiltin(name: string): BuiltinSpec | undefined {
  return registry.get(name);
}

export function builtinNames(): string[] {
  return [...registry.keys()];
}

/**
 * Names the language knows even though no implementation may be registered, so that `with`
 * can replace them (e.g. `http.send` in tests) — see the conformance README.
 */
export const REPLACEABLE_ONLY_BUILTINS: ReadonlyMap<string, number> = new Map([
  ["http.send", 1],
  ["opa.runtime", 0],
  ["time.now_ns", 0],
  ["net.lookup_ip_addr", 1],
]);
