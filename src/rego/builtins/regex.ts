// regex.* builtins on RE2 semantics (re2js: linear time, so a policy cannot hang the proxy
// with a pathological pattern). Match iteration follows Go's regexp (FindAll, Split,
// ReplaceAllString with $name expansion).

import { RE2JS } from "re2js";
import type { Value } from "../value.js";
import { builtinErr, smallInt, str } from "./args.js";
import { registerBuiltin } from "./types.js";

const reg = (name: string, arity: number, impl: (a: Value[]) => Value | undefined) =>
  registerBuiltin(name, impl, { arity });

const CACHE_MAX = 512;
const cache = new Map<string, RE2JS>();

/** Compiles (cached) or throws RE2's syntax error. */
export function compileRegex(pattern: string): RE2JS {
  let re = cache.get(pattern);
  if (re) return re;
  re = RE2JS.compile(pattern);
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, re);
  return re;
}

function compileFor(name: string, pattern: string): RE2JS {
  try {
    return compileRegex(pattern);
  } catch (e) {
    throw builtinErr(name, (e as Error).message);
  }
}

interface Match {
  start: number;
  end: number;
  groups: (string | null)[]; // index 0 = whole match
}

/** Go's FindAll…Index: n < 0 means all; an empty match right after a match is skipped. */
export function findAll(re: RE2JS, s: string, n: number, withGroups: boolean): Match[] {
  const out: Match[] = [];
  if (n === 0) return out;
  const m = re.matcher(s);
  let pos = 0;
  let prevEnd = -1;
  while (pos <= s.length && (n < 0 || out.length < n)) {
    if (!m.find(pos)) break;
    const start = m.start();
    const end = m.end();
    let accept = true;
    if (end === start && start === prevEnd) accept = false;
    if (accept) {
      const groups: (string | null)[] = [];
      if (withGroups) for (let g = 0; g <= m.groupCount(); g++) groups.push(m.group(g));
      else groups.push(m.group(0));
      out.push({ start, end, groups });
      prevEnd = end;
    }
    if (end > start) pos = end;
    else {
      // advance one code point
      const cp = s.codePointAt(start);
      pos = start + (cp !== undefined && cp > 0xffff ? 2 : 1);
    }
  }
  return out;
}

registerBuiltin(
  "regex.match",
  ([p, v]) => compileFor("regex.match", str("regex.match", 1, p)).test(str("regex.match", 2, v)),
  { arity: 2, aliases: ["re_match"] },
);

reg("regex.is_valid", 1, ([p]) => {
  if (typeof p !== "string") return false;
  try {
    compileRegex(p);
    return true;
  } catch {
    return false;
  }
});

reg("regex.split", 2, ([p, v]) => {
  const re = compileFor("regex.split", str("regex.split", 1, p));
  const s = str("regex.split", 2, v);
  if (p !== "" && s === "") return [""];
  const parts: Value[] = [];
  let beg = 0;
  let end = 0;
  for (const m of findAll(re, s, -1, false)) {
    end = m.start;
    if (m.end !== 0) parts.push(s.slice(beg, end));
    beg = m.end;
  }
  if (end !== s.length) parts.push(s.slice(beg));
  return parts;
});

reg("regex.find_n", 3, ([p, v, n]) => {
  const re = compileFor("regex.find_n", str("regex.find_n", 1, p));
  const s = str("regex.find_n", 2, v);
  return findAll(re, s, smallInt("regex.find_n", 3, n), false).map((m) => m.groups[0] ?? "");
});

reg("regex.find_all_string_submatch_n", 3, ([p, v, n]) => {
  const name = "regex.find_all_string_submatch_n";
  const re = compileFor(name, str(name, 1, p));
  const s = str(name, 2, v);
  return findAll(re, s, smallInt(name, 3, n), true).map((m) => m.groups.map((g) => g ?? ""));
});

/** Go's Regexp.Expand template syntax: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, m: Match, names: Record<string, number>): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== "$" || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === "$") {
      out += "$";
      i++;
      continue;
    }
    let name: string;
    let j: number;
    if (next === "{") {
      const close = template.indexOf("}", i + 2);
      const inner = close < 0 ? "" : template.slice(i + 2, close);
      if (close < 0 || !/^\w+$/.test(inner)) {
        out += c;
        continue;
      }
      name = inner;
      j = close + 1;
    } else {
      const mm = /^\w+/.exec(template.slice(i + 1));
      if (!mm) {
        out += c;
        continue;
      }
      name = mm[0];
      j = i + 1 + name.length;
    }
    let idx: number | undefined;
    if (/^\d+$/.test(name)) idx = Number(name);
    else idx = names[name];
    if (idx !== undefined && idx < m.groups.length) out += m.groups[idx] ?? "";
    i = j - 1;
  }
  return out;
}

reg("regex.replace", 3, ([v, p, r]) => {
  const s = str("regex.replace", 1, v);
  const re = compileFor("regex.replace", str("regex.replace", 2, p));
  const repl = str("regex.replace", 3, r);
  const names = (re.namedGroups?.() ?? {}) as Record<string, number>;
  let out = "";
  let last = 0;
  for (const m of findAll(re, s, -1, true)) {
    out += s.slice(last, m.start) + expand(repl, m, names);
    last = m.end;
  }
  return out + s.slice(last);
});

// ---- regex.template_match (gorilla/mux style templates) --------------------------------

function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

reg("regex.template_match", 4, ([t, v, ds, de]) => {
  const name = "regex.template_match";
  const tpl = str(name, 1, t);
  const s = str(name, 2, v);
  const open = str(name, 3, ds);
  const close = str(name, 4, de);
  // Split into literal text and {regex} parts, with balanced delimiters.
  let pattern = "^";
  let i = 0;
  while (i < tpl.length) {
    const o = tpl.indexOf(open, i);
    if (o < 0) {
      pattern += quoteMeta(tpl.slice(i));
      break;
    }
    pattern += quoteMeta(tpl.slice(i, o));
    let depth = 0;
    let j = o;
    let end = -1;
    while (j < tpl.length) {
      if (tpl.startsWith(open, j)) {
        depth++;
        j += open.length;
      } else if (tpl.startsWith(close, j)) {
        depth--;
        j += close.length;
        if (depth === 0) {
          end = j;
          break;
        }
      } else j++;
    }
    if (end < 0) throw builtinErr(name, `unbalanced braces in ${JSON.stringify(tpl)}`);
    pattern += `(${tpl.slice(o + open.length, end - close.length)})`;
    i = end;
  }
  pattern += "$";
  return compileFor(name, pattern).test(s);
});

// ---- regex.globs_match: do two simple regex "globs" have a common match? -----------------

interface Tok {
  chars: (c: string) => boolean;
  q: "1" | "*" | "+";
}

class GlobSyntaxError extends Error {}

function parseGlobRegex(input: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const cps = Array.from(input);
  const err = (pos: number, msg: string) =>
    new GlobSyntaxError(`input:${input}, pos:${pos}, ${msg}: the input provided is invalid`);
  while (i < cps.length) {
    const c = cps[i];
    let pred: (x: string) => boolean;
    if (c === ".") {
      pred = () => true;
      i++;
    } else if (c === "[") {
      const start = i;
      i++;
      const ranges: [string, string][] = [];
      while (i < cps.length && cps[i] !== "]") {
        let lo = cps[i];
        if (lo === "\\") lo = cps[++i];
        if (cps[i + 1] === "-" && cps[i + 2] !== undefined && cps[i + 2] !== "]") {
          let hi = cps[i + 2];
          if (hi === "\\") {
            hi = cps[i + 3];
            i++;
          }
          ranges.push([lo, hi]);
          i += 3;
        } else {
          ranges.push([lo, lo]);
          i++;
        }
      }
      if (i >= cps.length) throw err(start + 1, "set-open '[' with no closing ']'");
      i++;
      pred = (x) => ranges.some(([lo, hi]) => x >= lo && x <= hi);
    } else if (c === "]") {
      throw err(i + 1, "set-close ']' with no preceding '['");
    } else if (c === "*" || c === "+") {
      throw err(i + 1, `quantifier '${c}' with no preceding character`);
    } else {
      let lit = c;
      if (c === "\\") {
        i++;
        if (i >= cps.length) throw err(i, "escape character at end of input");
        lit = cps[i];
      }
      i++;
      pred = (x) => x === lit;
    }
    let q: Tok["q"] = "1";
    if (cps[i] === "*" || cps[i] === "+") {
      q = cps[i] as "*" | "+";
      i++;
    }
    toks.push({ chars: pred, q });
  }
  return toks;
}

const PROBE = Array.from({ length: 0x80 - 0x20 }, (_, k) => String.fromCharCode(0x20 + k)).concat([
  "é",
  "\u4e00",
]);

/** Whether some string matches both token sequences (product automaton search). */
function globsIntersect(a: Tok[], b: Tok[]): boolean {
  // State: positions in a and b, and whether each current token has matched at least once.
  const seen = new Set<string>();
  const stack: [number, number, number, number][] = [[0, 0, 0, 0]];
  const skippable = (t: Tok[], i: number, sat: number) =>
    i < t.length && (t[i].q === "*" || (t[i].q === "+" && sat === 1));
  const moves = (t: Tok, i: number): [number, number][] =>
    t.q === "1"
      ? [[i + 1, 0]]
      : [
          [i, 1],
          [i + 1, 0],
        ];
  while (stack.length) {
    const [i, j, sa, sb] = stack.pop() as [number, number, number, number];
    const key = `${i},${j},${sa},${sb}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === a.length && j === b.length) return true;
    if (skippable(a, i, sa)) stack.push([i + 1, j, 0, sb]);
    if (skippable(b, j, sb)) stack.push([i, j + 1, sa, 0]);
    if (i < a.length && j < b.length) {
      const ta = a[i];
      const tb = b[j];
      if (!PROBE.some((ch) => ta.chars(ch) && tb.chars(ch))) continue;
      for (const [ni, nsa] of moves(ta, i))
        for (const [nj, nsb] of moves(tb, j)) stack.push([ni, nj, nsa, nsb]);
    }
  }
  return false;
}

reg("regex.globs_match", 2, ([x, y]) => {
  const name = "regex.globs_match";
  const a = str(name, 1, x);
  const b = str(name, 2, y);
  try {
    return globsIntersect(parseGlobRegex(a), parseGlobRegex(b));
  } catch (e) {
    if (e instanceof GlobSyntaxError) throw builtinErr(name, e.message);
    throw e;
  }
});
