// Upper bound on the length of a regex match, read from the pattern source. The injection
// detector runs a rule only in a window around each trigger it found; a window of
// `trigger ± longest match` holds every match that contains that trigger, so windows can be as
// small as the rule allows. Unbounded repetition (`*`, `+`, `{n,}`) counts as UNBOUNDED_CAP
// characters: the rules use it only for whitespace and short separators.

/** What an unbounded repetition of one item is assumed to cover at most. */
export const UNBOUNDED_CAP = 40;

/** Longest match of `source` (a RegExp source without flags), or Infinity for what it cannot read. */
export function maxMatchLength(source: string): number {
  let i = 0;
  // Parses an alternation up to `)` or the end; returns its longest branch.
  const alternation = (): number => {
    let best = 0;
    let branch = 0;
    while (i < source.length) {
      const c = source[i];
      if (c === ")") break;
      if (c === "|") {
        best = Math.max(best, branch);
        branch = 0;
        i++;
        continue;
      }
      const item = atom();
      branch += quantified(item);
    }
    return Math.max(best, branch);
  };
  const atom = (): number => {
    const c = source[i];
    if (c === "(") {
      i++;
      let lookaround = false;
      if (source[i] === "?") {
        // (?: group, (?= (?! (?<= (?<! lookarounds (zero width), (?<name> named group.
        const next = source[i + 1];
        if (next === ":") i += 2;
        else if (next === "=" || next === "!") {
          lookaround = true;
          i += 2;
        } else if (next === "<" && (source[i + 2] === "=" || source[i + 2] === "!")) {
          lookaround = true;
          i += 3;
        } else if (next === "<") {
          i = source.indexOf(">", i) + 1;
        } else return Number.POSITIVE_INFINITY;
      }
      const len = alternation();
      i++; // ")"
      return lookaround ? 0 : len;
    }
    if (c === "[") {
      i++;
      if (source[i] === "^") i++;
      if (source[i] === "]") i++;
      while (i < source.length && source[i] !== "]") i += source[i] === "\\" ? 2 : 1;
      i++;
      return 1;
    }
    if (c === "\\") {
      const e = source[i + 1];
      i += 2;
      if (e === "b" || e === "B") return 0;
      if (e === "u" && source[i] === "{") i = source.indexOf("}", i) + 1;
      else if (e === "u") i += 4;
      else if (e === "x") i += 2;
      else if (e === "p" || e === "P") i = source.indexOf("}", i) + 1;
      else if (e >= "1" && e <= "9") return Number.POSITIVE_INFINITY; // back-reference
      return 1;
    }
    i++;
    if (c === "^" || c === "$") return 0;
    return 1;
  };
  const quantified = (item: number): number => {
    const q = source[i];
    let times = 1;
    if (q === "?") {
      i++;
    } else if (q === "*" || q === "+") {
      i++;
      times = Number.POSITIVE_INFINITY;
    } else if (q === "{") {
      const close = source.indexOf("}", i);
      const m = /^\{(\d+)(,(\d*))?\}$/.exec(source.slice(i, close + 1));
      if (!m) return item; // a literal "{"
      i = close + 1;
      times = m[2] === undefined ? Number(m[1]) : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
    } else return item;
    if (source[i] === "?") i++; // lazy
    if (times === Number.POSITIVE_INFINITY) return item === 0 ? 0 : Math.max(item, UNBOUNDED_CAP);
    return item * times;
  };
  const len = alternation();
  return i < source.length ? Number.POSITIVE_INFINITY : len;
}
