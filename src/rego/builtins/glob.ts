// glob.match / glob.quote_meta with gobwas/glob semantics, compiled to RE2 (linear time).
// `*` stops at delimiters, `**` does not, `?` is one non-delimiter character, `[a-c]` /
// `[!a-c]` are character classes, `{a,b}` alternatives, `\` escapes.

import { RE2JS } from "re2js";
import { typeName, type Value } from "../value.js";
import { builtinErr, str, typeErr } from "./args.js";
import { registerBuiltin } from "./types.js";

const cache = new Map<string, RE2JS>();

function reQuote(ch: string): string {
  return /[\\.+*?()|[\]{}^$-]/.test(ch) ? `\\${ch}` : ch;
}

class GlobError extends Error {}

/** Translates a gobwas glob to an anchored RE2 pattern. */
export function globToRegex(glob: string, delims: string[]): string {
  const cps = Array.from(glob);
  const notDelim = delims.length ? `[^${delims.map(reQuote).join("")}]` : "(?s:.)";
  let i = 0;
  const parse = (inTerms: boolean): string => {
    let out = "";
    while (i < cps.length) {
      const c = cps[i];
      if (inTerms && (c === "," || c === "}")) return out;
      i++;
      switch (c) {
        case "*":
          if (cps[i] === "*") {
            i++;
            out += "(?s:.)*";
          } else out += `${notDelim}*`;
          break;
        case "?":
          out += notDelim;
          break;
        case "[": {
          let neg = false;
          if (cps[i] === "!") {
            neg = true;
            i++;
          }
          let cls = "";
          while (i < cps.length && cps[i] !== "]") {
            const ch = cps[i] === "\\" ? cps[++i] : cps[i];
            if (ch === undefined) break;
            cls += ch === "-" && cls !== "" && cps[i + 1] !== "]" ? "-" : reQuote(ch);
            i++;
          }
          if (i >= cps.length) throw new GlobError("unexpected end of input");
          i++;
          out += `[${neg ? "^" : ""}${cls}]`;
          break;
        }
        case "{": {
          const alts: string[] = [];
          for (;;) {
            alts.push(parse(true));
            if (i >= cps.length) throw new GlobError("unexpected end of input");
            if (cps[i++] === "}") break;
          }
          out += `(?:${alts.join("|")})`;
          break;
        }
        case "\\":
          if (i >= cps.length) throw new GlobError("unexpected end of input");
          out += reQuote(cps[i++]);
          break;
        default:
          out += reQuote(c);
      }
    }
    return out;
  };
  const body = parse(false);
  return `^${body}$`;
}

function compileGlob(glob: string, delims: string[]): RE2JS {
  const key = delims.length === 1 ? `${delims[0]}\u0001${glob}` : `${delims.join("\u0000")}\u0001${glob}`;
  let re = cache.get(key);
  if (!re) {
    re = RE2JS.compile(globToRegex(glob, delims));
    if (cache.size > 512) cache.delete(cache.keys().next().value as string);
    cache.set(key, re);
  }
  return re;
}

// Policies pass the same (immutable) delimiter array on every call: remember it parsed.
const delimCache = new WeakMap<Value[], string[]>();
const NO_DELIMS: string[] = [];
const DOT: string[] = ["."];

function delimitersOf(name: string, d: Value): string[] {
  if (d === null) return NO_DELIMS;
  if (!Array.isArray(d)) throw typeErr(name, `operand 2 must be one of {array, null} but got ${typeName(d)}`);
  const hit = delimCache.get(d);
  if (hit) return hit;
  // Delimiters are single characters (OPA's RuneSliceOperand); [] means ".".
  let out = d.map((x) => {
    if (typeof x !== "string") {
      throw typeErr(name, `operand 2 must be array of strings but got array containing ${typeName(x)}`);
    }
    if ([...x].length !== 1)
      throw typeErr(name, "operand 2 must be array of runes but got array containing string");
    return x;
  });
  if (out.length === 0) out = DOT;
  delimCache.set(d, out);
  return out;
}

registerBuiltin(
  "glob.match",
  ([p, d, m]) => {
    const name = "glob.match";
    const pattern = str(name, 1, p);
    const delims = delimitersOf(name, d);
    const s = str(name, 3, m);
    try {
      return compileGlob(pattern, delims).testExact(s);
    } catch (e) {
      throw builtinErr(name, (e as Error).message);
    }
  },
  { arity: 3 },
);

registerBuiltin("glob.quote_meta", ([p]) => str("glob.quote_meta", 1, p).replace(/[*?\\[\]{}]/g, "\\$&"), {
  arity: 1,
});

export type { Value };
