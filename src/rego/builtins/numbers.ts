// Numbers, aggregates, bits, types and casts.

import { compare, normBig, num, parseNumber, RObject, RSet, typeName, type Value } from "../value.js";
import { builtinErr, intArg, type Num, numArg, str, typeErr } from "./args.js";
import { arith } from "./core-operators.js";
import { type BuiltinContext, operandTypeError, registerBuiltin } from "./types.js";

const reg = (name: string, arity: number, impl: (a: Value[], b: BuiltinContext) => Value | undefined) =>
  registerBuiltin(name, impl, { arity });

// ---- rounding -------------------------------------------------------------------------

function roundLike(name: string, f: (x: number) => number) {
  reg(name, 1, ([a]) => {
    const n = numArg(name, 1, a);
    if (typeof n === "bigint") return n;
    return num(f(n));
  });
}
roundLike("round", (x) => (x < 0 ? -Math.round(-x) : Math.round(x)));
roundLike("ceil", Math.ceil);
roundLike("floor", Math.floor);
reg("abs", 1, ([a]) => {
  const n = numArg("abs", 1, a);
  return typeof n === "bigint" ? normBig(n < 0n ? -n : n) : num(Math.abs(n));
});

// ---- ranges ---------------------------------------------------------------------------

const MAX_RANGE = 10_000_000;

function range(name: string, a: bigint, b: bigint, step: bigint): Value[] {
  const out: Value[] = [];
  const count = (a <= b ? b - a : a - b) / step + 1n;
  if (count > BigInt(MAX_RANGE)) throw builtinErr(name, "range too large");
  if (a <= b) for (let i = a; i <= b; i += step) out.push(normBig(i));
  else for (let i = a; i >= b; i -= step) out.push(normBig(i));
  return out;
}

reg("numbers.range", 2, ([a, b]) =>
  range("numbers.range", intArg("numbers.range", 1, a), intArg("numbers.range", 2, b), 1n),
);
reg("numbers.range_step", 3, ([a, b, s]) => {
  const x = intArg("numbers.range_step", 1, a);
  const y = intArg("numbers.range_step", 2, b);
  const st = numArg("numbers.range_step", 3, s);
  if (typeof st === "number" && !Number.isInteger(st)) {
    throw typeErr("numbers.range_step", "operand 3 must be integer number but got floating-point number");
  }
  if (BigInt(st) <= 0n) throw builtinErr("numbers.range_step", "step must be a positive integer");
  return range("numbers.range_step", x, y, BigInt(st));
});

// ---- aggregates -----------------------------------------------------------------------

reg("count", 1, ([a]) => {
  if (typeof a === "string") return Array.from(a).length;
  if (Array.isArray(a)) return a.length;
  if (a instanceof RObject || a instanceof RSet) return a.size;
  throw typeErr("count", `operand 1 must be one of {array, object, set, string} but got ${typeName(a)}`);
});

function numbersOf(name: string, a: Value): Num[] {
  if (!Array.isArray(a) && !(a instanceof RSet)) {
    throw typeErr(name, `operand 1 must be one of {set, array} but got ${typeName(a)}`);
  }
  const out: Num[] = [];
  for (const e of Array.isArray(a) ? a : a.values()) {
    if (typeof e !== "number" && typeof e !== "bigint") {
      throw typeErr(
        name,
        `operand 1 must be ${Array.isArray(a) ? "array" : "set"} of numbers but got ${Array.isArray(a) ? "array" : "set"} containing ${typeName(e)}`,
      );
    }
    out.push(e);
  }
  return out;
}

reg("sum", 1, ([a]) => {
  let acc: Num = 0;
  for (const n of numbersOf("sum", a)) acc = arith("+", acc, n);
  return acc;
});
reg("product", 1, ([a]) => {
  let acc: Num = 1;
  for (const n of numbersOf("product", a)) acc = arith("*", acc, n);
  return acc;
});

function extremum(name: string, sign: number) {
  reg(name, 1, ([a]) => {
    if (!Array.isArray(a) && !(a instanceof RSet)) {
      throw typeErr(name, `operand 1 must be one of {set, array} but got ${typeName(a)}`);
    }
    let best: Value | undefined;
    for (const e of Array.isArray(a) ? a : a.values()) {
      if (best === undefined || compare(e, best) * sign > 0) best = e;
    }
    return best;
  });
}
extremum("max", 1);
extremum("min", -1);

reg("sort", 1, ([a]) => {
  if (Array.isArray(a)) return [...a].sort(compare);
  if (a instanceof RSet) return [...a.sortedElems()];
  throw typeErr("sort", `operand 1 must be one of {set, array} but got ${typeName(a)}`);
});

function boolAgg(name: string, all: boolean) {
  reg(name, 1, ([a]) => {
    if (!Array.isArray(a) && !(a instanceof RSet)) {
      throw typeErr(name, `operand 1 must be one of {array, set} but got ${typeName(a)}`);
    }
    for (const e of Array.isArray(a) ? a : a.values()) {
      if (all && e !== true) return false;
      if (!all && e === true) return true;
    }
    return all;
  });
}
boolAgg("all", true);
boolAgg("any", false);

// ---- bits -----------------------------------------------------------------------------

/** OPA's BigIntOperand: "must be integer but got string" / "must be integer number but got floating-point number". */
function bigIntArg(name: string, pos: number, v: Value): bigint {
  if (typeof v !== "number" && typeof v !== "bigint") {
    throw typeErr(name, `operand ${pos} must be integer but got ${typeName(v)}`);
  }
  return intArg(name, pos, v);
}

function bits2(name: string, f: (a: bigint, b: bigint) => bigint) {
  reg(name, 2, ([a, b]) => normBig(f(bigIntArg(name, 1, a), bigIntArg(name, 2, b))));
}
bits2("bits.and", (a, b) => a & b);
bits2("bits.or", (a, b) => a | b);
bits2("bits.xor", (a, b) => a ^ b);
function shift(name: string, left: boolean) {
  reg(name, 2, ([a, b]) => {
    const x = bigIntArg(name, 1, a);
    const s = bigIntArg(name, 2, b);
    if (s < 0n)
      throw typeErr(name, "operand 2 must be an unsigned integer number but got a negative integer");
    if (left && s > 1_000_000n) throw builtinErr(name, "shift too large");
    return normBig(left ? x << s : x >> s);
  });
}
shift("bits.lsh", true);
shift("bits.rsh", false);
reg("bits.negate", 1, ([a]) => normBig(~bigIntArg("bits.negate", 1, a)));

// ---- types ----------------------------------------------------------------------------

const IS: [string, string][] = [
  ["is_number", "number"],
  ["is_string", "string"],
  ["is_boolean", "boolean"],
  ["is_array", "array"],
  ["is_set", "set"],
  ["is_object", "object"],
  ["is_null", "null"],
];
for (const [name, t] of IS) reg(name, 1, ([a]) => typeName(a) === t);
reg("type_name", 1, ([a]) => typeName(a));

// ---- casts ----------------------------------------------------------------------------

const GO_FLOAT = /^[+-]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?$/;
const GO_SPECIAL = /^[+-]*(?:inf|infinity|nan)$/i;

reg("to_number", 1, ([a]) => {
  if (a === null) return 0;
  if (typeof a === "boolean") return a ? 1 : 0;
  if (typeof a === "number" || typeof a === "bigint") return a;
  if (typeof a !== "string") {
    throw operandTypeError("to_number", 1, "one of {null, boolean, number, string}", a);
  }
  if (GO_SPECIAL.test(a)) {
    throw typeErr("to_number", "operand 1 must be valid number string but got string");
  }
  if (!GO_FLOAT.test(a) || a.includes("_")) {
    throw builtinErr("to_number", `strconv.ParseFloat: parsing ${JSON.stringify(a)}: invalid syntax`);
  }
  const text = a.startsWith("+") ? a.slice(1) : a;
  const n = parseNumber(
    text.startsWith(".")
      ? `0${text}`
      : text.startsWith("-.")
        ? `-0${text.slice(1)}`
        : text.replace(/\.$/, "").replace(/\.(?=[eE])/, ""),
  );
  if (typeof n === "number" && !Number.isFinite(n)) {
    throw builtinErr("to_number", `strconv.ParseFloat: parsing ${JSON.stringify(a)}: value out of range`);
  }
  return n;
});

// ---- rand -----------------------------------------------------------------------------

// Same value for the same arguments within one query (OPA caches it per query).
registerBuiltin("rand.intn", (args, bctx) => randIntn(args, bctx), { arity: 2, nondeterministic: true });
function randIntn([a, b]: Value[], bctx: BuiltinContext): Value {
  const s = str("rand.intn", 1, a);
  const n = intArg("rand.intn", 2, b);
  if (n === 0n) return 0;
  const key = `rand.intn:${JSON.stringify(s)}:${n}`;
  const hit = bctx.cache.get(key);
  if (hit !== undefined) return hit;
  const lim = n < 0n ? -n : n;
  const r = normBig(BigInt(Math.floor(Math.random() * Number(lim))) % lim);
  bctx.cache.set(key, r);
  return r;
}

// ---- deprecated casts (OPA keeps them for v0 policies) ----------------------------------

reg("cast_array", 1, ([a]) => {
  if (Array.isArray(a)) return a;
  if (a instanceof RSet) return [...a.sortedElems()];
  throw typeErr("cast_array", `operand 1 must be one of {array, set} but got ${typeName(a)}`);
});
reg("cast_set", 1, ([a]) => {
  if (a instanceof RSet) return a;
  if (Array.isArray(a)) {
    const out = new RSet();
    for (const e of a) out.add(e);
    return out;
  }
  throw typeErr("cast_set", `operand 1 must be one of {array, set} but got ${typeName(a)}`);
});
for (const [name, t] of [
  ["cast_string", "string"],
  ["cast_boolean", "boolean"],
  ["cast_null", "null"],
  ["cast_object", "object"],
] as const) {
  reg(name, 1, ([a]) => {
    if (typeName(a) === t) return a;
    throw typeErr(name, `operand 1 must be ${t} but got ${typeName(a)}`);
  });
}
