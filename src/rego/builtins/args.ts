// Operand checks shared by the builtin modules. The messages are OPA's: an operand problem is
// an `eval_type_error` ("<name>: operand N must be X but got Y"), any other failure an
// `eval_builtin_error` ("<name>: <message>").

import { RObject, RSet, typeName, type Value } from "../value.js";
import { BuiltinError, operandTypeError } from "./types.js";

export type Num = number | bigint;

export function typeErr(name: string, message: string): BuiltinError {
  return new BuiltinError("eval_type_error", `${name}: ${message}`);
}

export function builtinErr(name: string, message: string): BuiltinError {
  return new BuiltinError("eval_builtin_error", `${name}: ${message}`);
}

export function str(name: string, pos: number, v: Value): string {
  if (typeof v === "string") return v;
  throw operandTypeError(name, pos, "string", v);
}

export function numArg(name: string, pos: number, v: Value): Num {
  if (typeof v === "number" || typeof v === "bigint") return v;
  throw operandTypeError(name, pos, "number", v);
}

export function isInteger(n: Num): boolean {
  return typeof n === "bigint" || Number.isInteger(n);
}

/** An integral number as bigint ("operand N must be integer number but got floating-point number"). */
export function intArg(name: string, pos: number, v: Value): bigint {
  const n = numArg(name, pos, v);
  if (!isInteger(n))
    throw typeErr(name, `operand ${pos} must be integer number but got floating-point number`);
  return BigInt(n);
}

/** An integral number that fits a JS number. */
export function smallInt(name: string, pos: number, v: Value): number {
  return Number(intArg(name, pos, v));
}

export function arr(name: string, pos: number, v: Value): Value[] {
  if (Array.isArray(v)) return v;
  throw operandTypeError(name, pos, "array", v);
}

export function obj(name: string, pos: number, v: Value): RObject {
  if (v instanceof RObject) return v;
  throw operandTypeError(name, pos, "object", v);
}

export function set(name: string, pos: number, v: Value): RSet {
  if (v instanceof RSet) return v;
  throw operandTypeError(name, pos, "set", v);
}

export function bool(name: string, pos: number, v: Value): boolean {
  if (typeof v === "boolean") return v;
  throw operandTypeError(name, pos, "boolean", v);
}

/** Checks the operand's type is one of `types` ("operand N must be one of {a, b} but got c"). */
export function oneOf(name: string, pos: number, v: Value, types: string[]): void {
  if (!types.includes(typeName(v))) {
    throw typeErr(name, `operand ${pos} must be one of {${types.join(", ")}} but got ${typeName(v)}`);
  }
}

/** Elements of an array or set (set in canonical order). */
export function elems(v: Value[] | RSet): Value[] {
  return Array.isArray(v) ? v : v.sortedElems();
}

/** Strings of an array or set operand, with OPA's element error. */
export function stringElems(name: string, pos: number, v: Value, kind = "strings"): string[] {
  if (!Array.isArray(v) && !(v instanceof RSet)) {
    throw typeErr(name, `operand ${pos} must be one of {set, array} but got ${typeName(v)}`);
  }
  const out: string[] = [];
  for (const e of elems(v)) {
    if (typeof e !== "string") {
      throw typeErr(
        name,
        `operand ${pos} must be ${Array.isArray(v) ? "array" : "set"} of ${kind} but got ${Array.isArray(v) ? "array" : "set"} containing ${typeName(e)}`,
      );
    }
    out.push(e);
  }
  return out;
}
