// Rego lexer: source text → tokens. Newlines are not tokens; each token records whether a
// newline preceded it (`nl`), which the parser uses to separate body expressions.

export type TokKind = "ident" | "string" | "number" | "template" | "punct" | "eof";

export interface TemplatePart {
  /** literal text, or the source of an embedded expression */
  text: string;
  expr: boolean;
  line: number;
  col: number;
  /** absolute offset of the expression source (for nested error positions) */
  offset: number;
}

export interface Token {
  kind: TokKind;
  /** ident name, punct text, number text, decoded string value */
  text: string;
  parts?: TemplatePart[];
  line: number;
  col: number;
  offset: number;
  /** a newline (or start of input) precedes this token */
  nl: boolean;
  /** absolute offset just past the token */
  end: number;
}

export class RegoSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${col}: rego_parse_error: ${detail}`);
    this.name = "RegoSyntaxError";
  }
}

const PUNCT3 = new Set<string>();
const PUNCT2 = new Set([":=", "==", "!=", "<=", ">="]);
const PUNCT1 = new Set("{}[]().,;:=<>+-*/%|&".split(""));

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function tokenize(src: string, file: string, baseLine = 1, baseCol = 1, baseOffset = 0): Token[] {
  const toks: Token[] = [];
  let i = 0;
  let line = baseLine;
  let lineStart = -(baseCol - 1);
  let nl = true;
  const err = (msg: string, at = i): never => {
    // compute line/col of `at`
    let l = baseLine;
    let ls = -(baseCol - 1);
    for (let j = 0; j < at; j++)
      if (src.charCodeAt(j) === 10) {
        l++;
        ls = j + 1;
      }
    throw new RegoSyntaxError(file, l, at - ls + 1, msg);
  };
  const n = src.length;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      lineStart = i;
      nl = true;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) {
      i++;
      continue;
    }
    if (c === 35) {
      // comment
      while (i < n && src.charCodeAt(i) !== 10) i++;
      continue;
    }
    const start = i;
    const col = i - lineStart + 1;
    const tok = (kind: TokKind, text: string, parts?: TemplatePart[]) => {
      toks.push({ kind, text, parts, line, col, offset: baseOffset + start, nl, end: baseOffset + i });
      nl = false;
    };
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(src.charCodeAt(i))) i++;
      tok("ident", src.slice(start, i));
      continue;
    }
    if (isDigit(c)) {
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      if (src[i] === "." && isDigit(src.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(src.charCodeAt(i))) i++;
      }
      if (src[i] === "e" || src[i] === "E") {
        let j = i + 1;
        if (src[j] === "+" || src[j] === "-") j++;
        if (isDigit(src.charCodeAt(j))) {
          i = j;
          while (i < n && isDigit(src.charCodeAt(i))) i++;
        }
      }
      if (i < n && isIdentStart(src.charCodeAt(i))) err("invalid number literal");
      tok("number", src.slice(start, i));
      continue;
    }
    if (c === 34) {
      const { value, end, lines } = scanString(src, i, err);
      i = end;
      tok("string", value);
      line += lines;
      continue;
    }
    if (c === 96) {
      const end = src.indexOf("`", i + 1);
      if (end < 0) err("unterminated raw string");
      const value = src.slice(i + 1, end);
      for (const ch of value) if (ch === "\n") line++;
      if (value.includes("\n")) lineStart = start + value.lastIndexOf("\n") + 2;
      i = end + 1;
      tok("string", value);
      continue;
    }
    if (c === 36 && (src[i + 1] === '"' || src[i + 1] === "`")) {
      const raw = src[i + 1] === "`";
      const parts: TemplatePart[] = [];
      let j = i + 2;
      let lit = "";
      let l = line;
      let ls = lineStart;
      const close = raw ? "`" : '"';
      for (;;) {
        if (j >= n) err("unterminated template string");
        const ch = src[j];
        if (ch === close) break;
        if (ch === "\n") {
          if (!raw) err("unterminated template string");
          l++;
          ls = j + 1;
        }
        if (ch === "\\") {
          if (src[j + 1] === "{") {
            lit += "{";
            j += 2;
            continue;
          }
          if (raw) {
            lit += ch;
            j++;
            continue;
          }
          const { text, len } = decodeEscape(src, j, err);
          lit += text;
          j += len;
          continue;
        }
        if (ch === "{") {
          if (lit) parts.push({ text: lit, expr: false, line: l, col: 0, offset: 0 });
          lit = "";
          const exprStart = j + 1;
          const end = findTemplateExprEnd(src, exprStart, err);
          parts.push({
            text: src.slice(exprStart, end),
            expr: true,
            line: l,
            col: exprStart - ls + 1,
            offset: baseOffset + exprStart,
          });
          for (let k = exprStart; k < end; k++)
            if (src.charCodeAt(k) === 10) {
              l++;
              ls = k + 1;
            }
          j = end + 1;
          continue;
        }
        lit += ch;
        j++;
      }
      if (lit) parts.push({ text: lit, expr: false, line: l, col: 0, offset: 0 });
      i = j + 1;
      tok("template", "", parts);
      line = l;
      lineStart = ls;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.has(two) || PUNCT3.has(two)) {
      i += 2;
      tok("punct", two);
      continue;
    }
    if (PUNCT1.has(src[i])) {
      i++;
      tok("punct", src[start]);
      continue;
    }
    err(`unexpected character ${JSON.stringify(src[i])}`);
  }
  toks.push({
    kind: "eof",
    text: "",
    line,
    col: i - lineStart + 1,
    offset: baseOffset + i,
    nl: true,
    end: baseOffset + i,
  });
  return toks;
}

function decodeEscape(
  src: string,
  j: number,
  err: (m: string, at?: number) => never,
): { text: string; len: number } {
  const e = src[j + 1];
  switch (e) {
    case '"':
      return { text: '"', len: 2 };
    case "\\":
      return { text: "\\", len: 2 };
    case "/":
      return { text: "/", len: 2 };
    case "b":
      return { text: "\b", len: 2 };
    case "f":
      return { text: "\f", len: 2 };
    case "n":
      return { text: "\n", len: 2 };
    case "r":
      return { text: "\r", len: 2 };
    case "t":
      return { text: "\t", len: 2 };
    case "u": {
      const hex = src.slice(j + 2, j + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) err("invalid unicode escape in string", j);
      return { text: String.fromCharCode(Number.parseInt(hex, 16)), len: 6 };
    }
    default:
      return err(`invalid escape sequence \\${e ?? ""} in string`, j);
  }
}

function scanString(
  src: string,
  i: number,
  err: (m: string, at?: number) => never,
): { value: string; end: number; lines: number } {
  let j = i + 1;
  let out = "";
  for (;;) {
    if (j >= src.length || src[j] === "\n") err("unterminated string", i);
    const ch = src[j];
    if (ch === '"') break;
    if (ch === "\\") {
      const { text, len } = decodeEscape(src, j, err);
      out += text;
      j += len;
      continue;
    }
    out += ch;
    j++;
  }
  return { value: out, end: j + 1, lines: 0 };
}

/** Index of the `}` closing a template expression starting at `start` (skips nested strings/braces). */
function findTemplateExprEnd(src: string, start: number, err: (m: string, at?: number) => never): number {
  let depth = 0;
  let j = start;
  while (j < src.length) {
    const ch = src[j];
    if (ch === '"') {
      j = scanString(src, j, err).end;
      continue;
    }
    if (ch === "`") {
      const e = src.indexOf("`", j + 1);
      if (e < 0) err("unterminated raw string", j);
      j = e + 1;
      continue;
    }
    if (ch === "$" && (src[j + 1] === '"' || src[j + 1] === "`")) {
      // nested template: skip it whole
      const close = src[j + 1];
      let k = j + 2;
      while (k < src.length && src[k] !== close) {
        if (src[k] === "\\") k += 2;
        else if (src[k] === "{") k = findTemplateExprEnd(src, k + 1, err) + 1;
        else k++;
      }
      j = k + 1;
      continue;
    }
    if (ch === "{" || ch === "[" || ch === "(") depth++;
    else if (ch === "}" || ch === "]" || ch === ")") {
      if (depth === 0) {
        if (ch === "}") return j;
        err("unbalanced brackets in template expression", j);
      }
      depth--;
    }
    j++;
  }
  return err("unterminated template expression", start);
}
