// String builtins. Indexes and lengths count Unicode code points (Go runes), as OPA does.

import { RObject, RSet, toRegoText, typeName, type Value } from "../value.js";
import { builtinErr, elems, numArg, smallInt, str, typeErr } from "./args.js";
import { type FmtArg, goSprintf } from "./gofmt.js";
import { operandTypeError, registerBuiltin } from "./types.js";

const reg = (name: string, arity: number, impl: (a: Value[]) => Value | undefined) =>
  registerBuiltin(name, impl, { arity });

function runes(s: string): string[] {
  return Array.from(s);
}

function hasAstral(s: string): boolean {
  return /[\uD800-\uDFFF]/.test(s);
}

/** Code-point index of a UTF-16 index. */
function runeIndex(s: string, utf16: number): number {
  if (!hasAstral(s)) return utf16;
  return Array.from(s.slice(0, utf16)).length;
}

reg("concat", 2, ([d, c]) => {
  const delim = str("concat", 1, d);
  if (!Array.isArray(c) && !(c instanceof RSet)) {
    throw operandTypeError("concat", 2, "one of {set, array}", c);
  }
  const parts: string[] = [];
  for (const e of elems(c)) {
    if (typeof e !== "string") {
      throw typeErr(
        "concat",
        `operand 2 must be ${Array.isArray(c) ? "array" : "set"} of strings but got ${Array.isArray(c) ? "array" : "set"} containing ${typeName(e)}`,
      );
    }
    parts.push(e);
  }
  return parts.join(delim);
});

reg("contains", 2, ([a, b]) => str("contains", 1, a).includes(str("contains", 2, b)));
reg("startswith", 2, ([a, b]) => str("startswith", 1, a).startsWith(str("startswith", 2, b)));
reg("endswith", 2, ([a, b]) => str("endswith", 1, a).endsWith(str("endswith", 2, b)));
/** Go's strings.ToLower/ToUpper map rune by rune; JS may expand one letter into several. */
function mapRunes(s: string, f: (ch: string) => string, special: Record<string, string>): string {
  const whole = f(s);
  if ([...whole].length === [...s].length && !/[\u0130\u0131\u017f]/.test(s)) return whole;
  let out = "";
  for (const ch of s) {
    const m = special[ch] ?? f(ch);
    out += [...m].length === 1 ? m : ch;
  }
  return out;
}
const LOWER_SPECIAL: Record<string, string> = { "\u0130": "i" };
const UPPER_SPECIAL: Record<string, string> = { "\u0131": "I", "\u017f": "S" };
reg("lower", 1, ([a]) => mapRunes(str("lower", 1, a), (c) => c.toLowerCase(), LOWER_SPECIAL));
reg("upper", 1, ([a]) => mapRunes(str("upper", 1, a), (c) => c.toUpperCase(), UPPER_SPECIAL));

reg("format_int", 2, ([n, b]) => {
  const x = numArg("format_int", 1, n);
  const base = numArg("format_int", 2, b);
  if (base !== 2 && base !== 8 && base !== 10 && base !== 16) {
    throw typeErr("format_int", "operand 2 must be one of {2, 8, 10, 16}");
  }
  // Truncate toward zero, as big.Float.Int does.
  const i = typeof x === "bigint" ? x : BigInt(Math.trunc(x));
  return i.toString(base);
});

reg("indexof", 2, ([a, b]) => {
  const s = str("indexof", 1, a);
  const sub = str("indexof", 2, b);
  if (sub === "") throw builtinErr("indexof", "empty search character");
  const i = s.indexOf(sub);
  return i < 0 ? -1 : runeIndex(s, i);
});

reg("indexof_n", 2, ([a, b]) => {
  const s = str("indexof_n", 1, a);
  const sub = str("indexof_n", 2, b);
  if (sub === "") throw builtinErr("indexof_n", "empty search character");
  const out: Value[] = [];
  let from = 0;
  for (;;) {
    const i = s.indexOf(sub, from);
    if (i < 0) break;
    out.push(runeIndex(s, i));
    from = i + 1;
    if (from > s.length) break;
  }
  return out;
});

reg("replace", 3, ([a, b, c]) => {
  const s = str("replace", 1, a);
  const old = str("replace", 2, b);
  const nw = str("replace", 3, c);
  if (old === "") {
    // Go's strings.ReplaceAll with an empty old string inserts at every rune boundary.
    const rs = runes(s);
    return nw + rs.map((r) => r + nw).join("");
  }
  return s.split(old).join(nw);
});

reg("split", 2, ([a, b]) => {
  const s = str("split", 1, a);
  const d = str("split", 2, b);
  if (d === "") return runes(s);
  return s.split(d);
});

reg("strings.split_n", 3, ([a, b, c]) => {
  const s = str("strings.split_n", 1, a);
  const d = str("strings.split_n", 2, b);
  const n = smallInt("strings.split_n", 3, c);
  const parts = d === "" ? runes(s) : s.split(d);
  if (n >= 0) return parts.slice(0, n);
  return parts.slice(Math.max(parts.length + n, 0));
});

reg("sprintf", 2, ([f, a]) => {
  const format = str("sprintf", 1, f);
  if (!Array.isArray(a)) throw operandTypeError("sprintf", 2, "array", a);
  return goSprintf(format, a.map(toFmtArg));
});

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toFmtArg(v: Value): FmtArg {
  if (typeof v === "bigint") {
    return v >= INT64_MIN && v <= INT64_MAX ? { kind: "int", v } : { kind: "bigint", v };
  }
  if (typeof v === "number") {
    if (Number.isInteger(v)) return { kind: "int", v: BigInt(v), n: v };
    return { kind: "float", v };
  }
  if (typeof v === "string") return { kind: "string", v };
  return { kind: "string", v: toRegoText(v) };
}

reg("substring", 3, ([a, b, c]) => {
  const s = str("substring", 1, a);
  const off = smallInt("substring", 2, b);
  const len = smallInt("substring", 3, c);
  if (off < 0) throw builtinErr("substring", "negative offset");
  if (!hasAstral(s)) {
    if (off >= s.length) return "";
    return len < 0 ? s.slice(off) : s.slice(off, off + len);
  }
  const rs = runes(s);
  if (off >= rs.length) return "";
  return (len < 0 ? rs.slice(off) : rs.slice(off, off + len)).join("");
});

function trimLeftSet(s: string, cut: string): string {
  const set = new Set(runes(cut));
  const rs = runes(s);
  let i = 0;
  while (i < rs.length && set.has(rs[i])) i++;
  return rs.slice(i).join("");
}

function trimRightSet(s: string, cut: string): string {
  const set = new Set(runes(cut));
  const rs = runes(s);
  let j = rs.length;
  while (j > 0 && set.has(rs[j - 1])) j--;
  return rs.slice(0, j).join("");
}

reg("trim", 2, ([a, b]) =>
  trimRightSet(trimLeftSet(str("trim", 1, a), str("trim", 2, b)), str("trim", 2, b)),
);
reg("trim_left", 2, ([a, b]) => trimLeftSet(str("trim_left", 1, a), str("trim_left", 2, b)));
reg("trim_right", 2, ([a, b]) => trimRightSet(str("trim_right", 1, a), str("trim_right", 2, b)));
reg("trim_prefix", 2, ([a, b]) => {
  const s = str("trim_prefix", 1, a);
  const p = str("trim_prefix", 2, b);
  return s.startsWith(p) ? s.slice(p.length) : s;
});
reg("trim_suffix", 2, ([a, b]) => {
  const s = str("trim_suffix", 1, a);
  const p = str("trim_suffix", 2, b);
  return p !== "" && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
});
// Go's unicode.IsSpace set.
const GO_SPACE =
  "\t\n\v\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000";
reg("trim_space", 1, ([a]) => trimRightSet(trimLeftSet(str("trim_space", 1, a), GO_SPACE), GO_SPACE));

reg("strings.reverse", 1, ([a]) =>
  runes(str("strings.reverse", 1, a))
    .reverse()
    .join(""),
);

reg("strings.count", 2, ([a, b]) => {
  const s = str("strings.count", 1, a);
  const sub = str("strings.count", 2, b);
  if (sub === "") return runes(s).length + 1;
  let n = 0;
  let from = 0;
  for (;;) {
    const i = s.indexOf(sub, from);
    if (i < 0) return n;
    n++;
    from = i + sub.length;
  }
});

function prefixOperand(name: string, pos: number, v: Value): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v) || v instanceof RSet) {
    const kind = Array.isArray(v) ? "array" : "set";
    return elems(v).map((e) => {
      if (typeof e !== "string") {
        throw typeErr(
          name,
          `operand ${pos} must be ${kind} of strings but got ${kind} containing ${typeName(e)}`,
        );
      }
      return e;
    });
  }
  throw typeErr(name, `operand ${pos} must be one of {string, set, array} but got ${typeName(v)}`);
}

reg("strings.any_prefix_match", 2, ([a, b]) => {
  const xs = prefixOperand("strings.any_prefix_match", 1, a);
  const ps = prefixOperand("strings.any_prefix_match", 2, b);
  return xs.some((x) => ps.some((p) => x.startsWith(p)));
});
reg("strings.any_suffix_match", 2, ([a, b]) => {
  const xs = prefixOperand("strings.any_suffix_match", 1, a);
  const ps = prefixOperand("strings.any_suffix_match", 2, b);
  return xs.some((x) => ps.some((p) => x.endsWith(p)));
});

reg("strings.replace_n", 2, ([p, a]) => {
  if (!(p instanceof RObject)) throw operandTypeError("strings.replace_n", 1, "object", p);
  const s = str("strings.replace_n", 2, a);
  const pairs: [string, string][] = [];
  for (const k of p.sortedKeys()) {
    if (typeof k !== "string")
      throw typeErr("strings.replace_n", "operand 1 non-string key found in pattern object");
    const v = p.get(k);
    if (typeof v !== "string")
      throw typeErr("strings.replace_n", "operand 1 non-string value found in pattern object");
    pairs.push([k, v]);
  }
  return goReplacer(pairs, s);
});

/** Go's strings.NewReplacer(...).Replace: leftmost position first, ties by argument order. */
export function goReplacer(pairs: [string, string][], s: string): string {
  if (pairs.length === 0) return s;
  let out = "";
  let i = 0;
  while (i <= s.length) {
    const hit = pairs.find(([o]) => s.startsWith(o, i));
    if (hit && hit[0] !== "") {
      out += hit[1];
      i += hit[0].length;
      continue;
    }
    if (hit) out += hit[1]; // empty pattern: insert, then copy one rune
    if (i >= s.length) break;
    const ch = String.fromCodePoint(s.codePointAt(i) as number);
    out += ch;
    i += ch.length;
  }
  return out;
}

reg("strings.render_template", 2, ([t, vars]) => {
  // A small subset of Go templates: {{.name}} substitutions only.
  const tpl = str("strings.render_template", 1, t);
  if (!(vars instanceof RObject)) throw operandTypeError("strings.render_template", 2, "object", vars);
  return tpl.replace(/\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => {
    const v = vars.getStr(name);
    if (v === undefined) return "<no value>";
    return typeof v === "string" ? v : toRegoText(v);
  });
});
