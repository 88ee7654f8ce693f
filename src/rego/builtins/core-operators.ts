// The operators the Rego language itself needs (owned by the language, not the builtin
// library): comparison, arithmetic, set algebra and membership (`in`).

import { compare, equal, normBig, num, RObject, RSet, type Value } from "../value.js";
import { BuiltinError, operandTypeError, registerBuiltin } from "./types.js";

type Num = number | bigint;

function isInt(n: Num): boolean {
  return typeof n === "bigint" || Number.isInteger(n);
}

function needNum(name: string, pos: number, v: Value): Num {
  if (typeof v === "number" || typeof v === "bigint") return v;
  throw operandTypeError(name, pos, "number", v);
}

/** Integer-exact arithmetic; falls back to doubles when either side is fractional. */
export function arith(op: "+" | "-" | "*", a: Num, b: Num): Num {
  if (typeof a === "number" && typeof b === "number") {
    const r = op === "+" ? a + b : op === "-" ? a - b : a * b;
    if (Number.isSafeInteger(r) || !Number.isInteger(a) || !Number.isInteger(b)) return num(r);
  } else if (!isInt(a) || !isInt(b)) {
    const x = Number(a);
    const y = Number(b);
    return num(op === "+" ? x + y : op === "-" ? x - y : x * y);
  }
  const x = BigInt(a);
  const y = BigInt(b);
  return normBig(op === "+" ? x + y : op === "-" ? x - y : x * y);
}

export function divide(a: Num, b: Num): Num {
  if (b === 0 || b === 0n) throw new BuiltinError("eval_builtin_error", "div: divide by zero");
  if (isInt(a) && isInt(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    if (x % y === 0n) return normBig(x / y);
  }
  return num(Number(a) / Number(b));
}

export function remainder(a: Num, b: Num): Num {
  if (!isInt(a) || !isInt(b))
    throw new BuiltinError("eval_builtin_error", "rem: modulo on floating-point number");
  if (b === 0 || b === 0n) throw new BuiltinError("eval_builtin_error", "rem: modulo by zero");
  if (typeof a === "number" && typeof b === "number") return num(a % b);
  return normBig(BigInt(a) % BigInt(b));
}

registerBuiltin("plus", ([a, b]) => arith("+", needNum("plus", 1, a), needNum("plus", 2, b)), { arity: 2 });
registerBuiltin("mul", ([a, b]) => arith("*", needNum("mul", 1, a), needNum("mul", 2, b)), { arity: 2 });
registerBuiltin("div", ([a, b]) => divide(needNum("div", 1, a), needNum("div", 2, b)), { arity: 2 });
registerBuiltin("rem", ([a, b]) => remainder(needNum("rem", 1, a), needNum("rem", 2, b)), { arity: 2 });

registerBuiltin(
  "minus",
  ([a, b]) => {
    if (a instanceof RSet) {
      if (!(b instanceof RSet)) throw operandTypeError("minus", 2, "set", b);
      const out = new RSet();
      for (const [k, v] of a.m) if (!b.m.has(k)) out.m.set(k, v);
      return out;
    }
    if (typeof a !== "number" && typeof a !== "bigint")
      throw operandTypeError("minus", 1, "one of {number, set}", a);
    return arith("-", a, needNum("minus", 2, b));
  },
  { arity: 2 },
);

registerBuiltin(
  "and",
  ([a, b]) => {
    if (!(a instanceof RSet)) throw operandTypeError("and", 1, "set", a);
    if (!(b instanceof RSet)) throw operandTypeError("and", 2, "set", b);
    const out = new RSet();
    const [small, big] = a.size <= b.size ? [a, b] : [b, a];
    for (const [k, v] of small.m) if (big.m.has(k)) out.m.set(k, v);
    return out;
  },
  { arity: 2 },
);

registerBuiltin(
  "or",
  ([a, b]) => {
    if (!(a instanceof RSet)) throw operandTypeError("or", 1, "set", a);
    if (!(b instanceof RSet)) throw operandTypeError("or", 2, "set", b);
    const out = new RSet(new Map(a.m));
    for (const [k, v] of b.m) out.m.set(k, v);
    return out;
  },
  { arity: 2 },
);

registerBuiltin("equal", ([a, b]) => equal(a, b), { arity: 2 });
registerBuiltin("neq", ([a, b]) => !equal(a, b), { arity: 2 });
registerBuiltin("lt", ([a, b]) => compare(a, b) < 0, { arity: 2 });
registerBuiltin("lte", ([a, b]) => compare(a, b) <= 0, { arity: 2 });
registerBuiltin("gt", ([a, b]) => compare(a, b) > 0, { arity: 2 });
registerBuiltin("gte", ([a, b]) => compare(a, b) >= 0, { arity: 2 });

/** `x in coll` */
export function member2(x: Value, coll: Value): boolean {
  if (Array.isArray(coll)) {
    for (const e of coll) if (equal(e, x)) return true;
    return false;
  }
  if (coll instanceof RSet) return coll.has(x);
  if (coll instanceof RObject) {
    for (const v of coll.m.values()) if (equal(v, x)) return true;
    return false;
  }
  return false;
}

/** `k, v in coll` */
export function member3(k: Value, v: Value, coll: Value): boolean {
  if (Array.isArray(coll)) {
    if (typeof k !== "number" || !Number.isInteger(k) || k < 0 || k >= coll.length) return false;
    return equal(coll[k], v);
  }
  if (coll instanceof RObject) {
    const got = coll.get(k);
    return got !== undefined && equal(got, v);
  }
  if (coll instanceof RSet) return equal(k, v) && coll.has(k);
  return false;
}

registerBuiltin("internal.member_2", ([x, c]) => member2(x, c), { arity: 2 });
registerBuiltin("internal.member_3", ([k, v, c]) => member3(k, v, c), { arity: 3 });
