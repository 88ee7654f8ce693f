// Go's fmt.Sprintf, restricted to the argument kinds OPA's `sprintf` passes to it:
// int (fits int64), *big.Int, float64 and string (every other Rego value is passed as its
// Rego text, so it formats as a string). Bad verbs and missing/extra arguments produce Go's
// `%!v(...)` markers, exactly as OPA shows them.

export type FmtArg =
  /** n: the same value as a JS number when it is a safe integer (fast path) */
  | { kind: "int"; v: bigint; n?: number }
  | { kind: "bigint"; v: bigint }
  | { kind: "float"; v: number }
  | { kind: "string"; v: string };

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | undefined;
  prec: number | undefined;
}

const GO_TYPE: Record<FmtArg["kind"], string> = {
  int: "int",
  bigint: "*big.Int",
  float: "float64",
  string: "string",
};

/** One parsed `%…` directive; "*" width/precision are taken from the arguments. */
interface Directive {
  spec: Spec;
  widthStar: boolean;
  precStar: boolean;
  /** undefined: the format ended before the verb (%!(NOVERB)) */
  verb: string | undefined;
}

type Piece = string | Directive;

const formatCache = new Map<string, Piece[]>();
const FORMAT_CACHE_MAX = 256;

/** Splits a format into literal text and directives (cached: policies reuse their formats). */
function parseFormat(format: string): Piece[] {
  const cached = formatCache.get(format);
  if (cached) return cached;
  const pieces: Piece[] = [];
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf("%", i);
    if (pct < 0) {
      pieces.push(format.slice(i));
      break;
    }
    if (pct > i) pieces.push(format.slice(i, pct));
    i = pct + 1;
    const d: Directive = { spec: blankSpec(), widthStar: false, precStar: false, verb: undefined };
    const spec = d.spec;
    for (; i < n; i++) {
      const c = format[i];
      if (c === "+") spec.plus = true;
      else if (c === "-") spec.minus = true;
      else if (c === "#") spec.sharp = true;
      else if (c === " ") spec.space = true;
      else if (c === "0") spec.zero = true;
      else break;
    }
    if (format[i] === "*") {
      i++;
      d.widthStar = true;
    } else {
      const st = i;
      while (i < n && format[i] >= "0" && format[i] <= "9") i++;
      if (i > st) spec.width = Number(format.slice(st, i));
    }
    if (format[i] === ".") {
      i++;
      if (format[i] === "*") {
        i++;
        d.precStar = true;
      } else {
        const st = i;
        while (i < n && format[i] >= "0" && format[i] <= "9") i++;
        spec.prec = i > st ? Number(format.slice(st, i)) : 0;
      }
    }
    if (i < n) {
      d.verb = String.fromCodePoint(format.codePointAt(i) as number);
      i += d.verb.length;
    } else i = n;
    pieces.push(d.verb === "%" && !d.widthStar && !d.precStar ? "%" : d);
  }
  if (formatCache.size >= FORMAT_CACHE_MAX) formatCache.delete(formatCache.keys().next().value as string);
  formatCache.set(format, pieces);
  return pieces;
}

export function goSprintf(format: string, args: readonly FmtArg[]): string {
  let out = "";
  let argi = 0;
  for (const piece of parseFormat(format)) {
    if (typeof piece === "string") {
      out += piece;
      continue;
    }
    let spec = piece.spec;
    if (piece.widthStar || piece.precStar) {
      spec = { ...spec };
      if (piece.widthStar) {
        const a = args[argi++];
        if (a && a.kind === "int") spec.width = Number(a.v);
        else out += "%!(BADWIDTH)";
        if (spec.width !== undefined && spec.width < 0) {
          spec.minus = true;
          spec.width = -spec.width;
        }
      }
      if (piece.precStar) {
        const a = args[argi++];
        if (a && a.kind === "int" && a.v >= 0n) spec.prec = Number(a.v);
        else out += "%!(BADPREC)";
      }
    }
    const verb = piece.verb;
    if (verb === undefined) {
      out += "%!(NOVERB)";
      break;
    }
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatOne(verb, spec, args[argi++] as FmtArg);
  }
  if (argi < args.length) {
    out += "%!(EXTRA ";
    out += args
      .slice(argi)
      .map((a) => `${GO_TYPE[a.kind]}=${formatOne("v", blankSpec(), a)}`)
      .join(", ");
    out += ")";
  }
  return out;
}

function blankSpec(): Spec {
  return {
    plus: false,
    minus: false,
    sharp: false,
    space: false,
    zero: false,
    width: undefined,
    prec: undefined,
  };
}

function badVerb(verb: string, a: FmtArg): string {
  return `%!${verb}(${GO_TYPE[a.kind]}=${formatOne("v", blankSpec(), a)})`;
}

function formatOne(verb: string, spec: Spec, a: FmtArg): string {
  switch (a.kind) {
    case "int":
    case "bigint":
      return formatInt(verb, spec, a);
    case "float":
      return formatFloat(verb, spec, a);
    case "string":
      return formatString(verb, spec, a);
  }
}

/** Pads to the width; zero padding goes after the sign/prefix. */
function pad(spec: Spec, body: string, signPrefixLen = 0, allowZero = true): string {
  const w = spec.width;
  if (w === undefined) return body;
  const len = runeLength(body);
  if (len >= w) return body;
  const fill = w - len;
  if (spec.minus) return body + " ".repeat(fill);
  if (spec.zero && allowZero) {
    return body.slice(0, signPrefixLen) + "0".repeat(fill) + body.slice(signPrefixLen);
  }
  return " ".repeat(fill) + body;
}

function formatInt(verb: string, spec: Spec, a: { kind: "int" | "bigint"; v: bigint; n?: number }): string {
  const big = a.kind === "bigint";
  let base: number;
  let upper = false;
  switch (verb) {
    case "v":
    case "d":
      base = 10;
      break;
    case "s":
      if (!big) return badVerb(verb, a);
      base = 10;
      break;
    case "b":
      base = 2;
      break;
    case "o":
    case "O":
      base = 8;
      break;
    case "x":
      base = 16;
      break;
    case "X":
      base = 16;
      upper = true;
      break;
    case "c":
      if (big) return badVerb(verb, a);
      return pad(spec, safeCodePoint(a.v), 0, false);
    case "q":
      if (big) return badVerb(verb, a);
      return pad(spec, goQuoteRune(a.v, spec), 0, false);
    case "U": {
      if (big) return badVerb(verb, a);
      let hex = (a.v < 0n ? -a.v : a.v).toString(16).toUpperCase();
      if (hex.length < 4) hex = hex.padStart(4, "0");
      let s = `U+${hex}`;
      if (spec.sharp && a.v >= 0n && a.v <= 0x10ffffn) s += ` '${safeCodePoint(a.v)}'`;
      return pad(spec, s, 0, false);
    }
    default:
      return badVerb(verb, a);
  }
  let neg: boolean;
  let digits: string;
  if (a.n !== undefined) {
    neg = a.n < 0;
    digits = Math.abs(a.n).toString(base);
  } else {
    neg = a.v < 0n;
    digits = (neg ? -a.v : a.v).toString(base);
  }
  if (upper) digits = digits.toUpperCase();
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && digits === "0") digits = "";
    else if (digits.length < spec.prec) digits = digits.padStart(spec.prec, "0");
  }
  let prefix = "";
  if (verb === "O") prefix = "0o";
  else if (spec.sharp) {
    if (base === 8 && digits[0] !== "0") prefix = "0";
    else if (base === 16) prefix = upper ? "0X" : "0x";
    else if (base === 2) prefix = "0b";
  }
  const sign = neg ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  const head = sign + prefix;
  // Go ignores the 0 flag when a precision is given for integers.
  return pad(spec, head + digits, head.length, spec.prec === undefined);
}

function safeCodePoint(v: bigint): string {
  if (v < 0n || v > 0x10ffffn || (v >= 0xd800n && v <= 0xdfffn)) return "\uFFFD";
  return String.fromCodePoint(Number(v));
}

function goQuoteRune(v: bigint, spec: Spec): string {
  const ch = safeCodePoint(v);
  if (ch === "'") return "'\\''";
  if (ch === '"') return `'"'`;
  return `'${quoteBody(ch, spec.plus)}'`;
}

function runeLength(s: string): number {
  return ASTRAL.test(s) ? [...s].length : s.length;
}
const ASTRAL = /[\uD800-\uDFFF]/;

/** The first n runes of s. */
function truncateRunes(s: string, n: number): string {
  if (s.length <= n) return s;
  return ASTRAL.test(s) ? [...s].slice(0, n).join("") : s.slice(0, n);
}

function formatString(verb: string, spec: Spec, a: { kind: "string"; v: string }): string {
  let s = a.v;
  switch (verb) {
    case "v":
    case "s":
      if (spec.prec !== undefined) s = truncateRunes(s, spec.prec);
      return pad(spec, s);
    case "q":
      if (spec.prec !== undefined) s = truncateRunes(s, spec.prec);
      if (spec.sharp && !s.includes("`") && canBackquote(s)) return pad(spec, `\`${s}\``);
      return pad(spec, `"${quoteBody(s, spec.plus)}"`);
    case "x":
    case "X": {
      let bytes = Buffer.from(s, "utf8");
      if (spec.prec !== undefined) bytes = bytes.subarray(0, spec.prec);
      const hexes = [...bytes].map((b) => {
        const h = b.toString(16).padStart(2, "0");
        return verb === "X" ? h.toUpperCase() : h;
      });
      const px = spec.sharp ? (verb === "X" ? "0X" : "0x") : "";
      let body: string;
      if (spec.space) body = hexes.map((h) => px + h).join(" ");
      else body = px + hexes.join("");
      return pad(spec, body);
    }
    default:
      return badVerb(verb, a);
  }
}

function canBackquote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === "\uFEFF") return false;
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** The inside of Go's strconv.Quote (or QuoteToASCII when asciiOnly). */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

export function quoteBody(s: string, asciiOnly = false): string {
  if (PLAIN_ASCII.test(s)) return s;
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\x07":
        out += "\\a";
        continue;
      case "\b":
        out += "\\b";
        continue;
      case "\f":
        out += "\\f";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
      case "\v":
        out += "\\v";
        continue;
    }
    if (c < 0x20 || c === 0x7f) {
      out += `\\x${c.toString(16).padStart(2, "0")}`;
    } else if (c < 0x7f) {
      out += ch;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += "\\ufffd";
    } else if (asciiOnly || !isPrintable(ch)) {
      if (c < 0x10000) out += `\\u${c.toString(16).padStart(4, "0")}`;
      else out += `\\U${c.toString(16).padStart(8, "0")}`;
    } else {
      out += ch;
    }
  }
  return out;
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
function isPrintable(ch: string): boolean {
  // Go's IsPrint: letters, marks, numbers, punctuation, symbols and U+0020 only.
  return !NON_PRINTABLE.test(ch);
}

// ---- floats -------------------------------------------------------------------------

/** Exact decimal expansion of a finite double: digits (no leading zeros) and decimal point position. */
interface Decimal {
  digits: string; // "" means zero
  dp: number; // value = 0.digits × 10^dp
}

function exactDecimal(x: number): Decimal {
  if (x === 0) return { digits: "", dp: 0 };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (expBits === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = expBits - 1075;
  }
  let digits: string;
  let dp: number;
  if (e2 >= 0) {
    digits = (mant << BigInt(e2)).toString();
    dp = digits.length;
  } else {
    // mant × 2^e2 = mant × 5^-e2 / 10^-e2
    digits = (mant * 5n ** BigInt(-e2)).toString();
    dp = digits.length + e2;
  }
  return trimZeros({ digits, dp });
}

function trimZeros(d: Decimal): Decimal {
  let end = d.digits.length;
  while (end > 0 && d.digits[end - 1] === "0") end--;
  return end === d.digits.length ? d : { digits: d.digits.slice(0, end), dp: d.dp };
}

/** Rounds to nd significant digits, half to even (exact, as Go's strconv does). */
function roundDecimal(d: Decimal, nd: number): Decimal {
  if (nd < 0) return { digits: "", dp: 0 };
  if (d.digits.length <= nd) return d;
  const keep = d.digits.slice(0, nd);
  const next = d.digits.charCodeAt(nd) - 48;
  let up: boolean;
  if (next > 5) up = true;
  else if (next < 5) up = false;
  else if (d.digits.length > nd + 1) up = true;
  else up = nd > 0 && (keep.charCodeAt(nd - 1) - 48) % 2 === 1;
  if (!up) return trimZeros({ digits: keep, dp: d.dp });
  // increment keep
  const arr = keep.split("");
  let k = arr.length - 1;
  while (k >= 0 && arr[k] === "9") {
    arr[k] = "0";
    k--;
  }
  if (k < 0) return { digits: "1", dp: d.dp + 1 };
  arr[k] = String.fromCharCode(arr[k].charCodeAt(0) + 1);
  return trimZeros({ digits: arr.join(""), dp: d.dp });
}

/** Shortest digits that round-trip (what JS and Go both compute). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { digits: "", dp: 0 };
  const s = Math.abs(x).toExponential(); // d.ddde±x
  const [mant, exp] = s.split("e");
  const digits = mant.replace(".", "");
  return trimZeros({ digits, dp: Number(exp) + 1 });
}

function digitAt(d: Decimal, i: number): string {
  return i < d.digits.length ? d.digits[i] : "0";
}

function fmtE(d: Decimal, prec: number, e: string): string {
  let s = digitAt(d, 0);
  if (prec > 0) {
    s += ".";
    for (let i = 1; i <= prec; i++) s += digitAt(d, i);
  }
  const exp = d.digits === "" ? 0 : d.dp - 1;
  const ae = Math.abs(exp);
  return `${s}${e}${exp < 0 ? "-" : "+"}${ae < 10 ? `0${ae}` : ae}`;
}

function fmtF(d: Decimal, prec: number): string {
  let s = "";
  if (d.dp > 0) {
    for (let i = 0; i < d.dp; i++) s += digitAt(d, i);
  } else s = "0";
  if (prec > 0) {
    s += ".";
    for (let i = 0; i < prec; i++) {
      const idx = d.dp + i;
      s += idx < 0 ? "0" : digitAt(d, idx);
    }
  }
  return s;
}

/** Go's strconv.FormatFloat(x, verb, prec, 64) for e, E, f, F, g, G; prec -1 = shortest. */
export function goFormatFloat(x: number, verb: string, prec: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : "-Inf";
  const neg = x < 0 || Object.is(x, -0);
  const shortest = prec < 0;
  let d: Decimal;
  let body: string;
  switch (verb) {
    case "e":
    case "E": {
      d = shortest ? shortestDecimal(x) : roundDecimal(exactDecimal(x), prec + 1);
      const p = shortest ? Math.max(d.digits.length - 1, 0) : prec;
      body = fmtE(d, p, verb);
      break;
    }
    case "f":
    case "F": {
      if (shortest) {
        d = shortestDecimal(x);
        body = fmtF(d, Math.max(d.digits.length - d.dp, 0));
      } else {
        const ex = exactDecimal(x);
        d = roundDecimal(ex, ex.dp + prec);
        body = fmtF(d, prec);
      }
      break;
    }
    default: {
      // g, G
      let p = prec;
      if (p === 0) p = 1;
      d = shortest ? shortestDecimal(x) : roundDecimal(exactDecimal(x), p);
      let eprec = p;
      if (shortest) eprec = 6;
      else if (eprec > d.digits.length && d.digits.length >= d.dp) eprec = d.digits.length;
      const exp = d.digits === "" ? 0 : d.dp - 1;
      if (exp < -4 || exp >= eprec) {
        const pp = shortest ? d.digits.length : Math.min(p, d.digits.length);
        body = fmtE(d, Math.max(pp - 1, 0), verb === "G" ? "E" : "e");
      } else {
        const pp = shortest ? d.digits.length : Math.min(p, d.digits.length);
        body = fmtF(d, Math.max(pp - d.dp, 0));
      }
    }
  }
  return (neg ? "-" : "") + body;
}

function formatFloat(verb: string, spec: Spec, a: { kind: "float"; v: number }): string {
  let v = verb;
  let prec = spec.prec;
  switch (verb) {
    case "v":
      v = "g";
      prec = prec ?? -1;
      break;
    case "e":
    case "E":
    case "f":
    case "F":
      prec = prec ?? 6;
      break;
    case "g":
    case "G":
      prec = prec ?? -1;
      break;
    default:
      return badVerb(verb, a);
  }
  let s = goFormatFloat(a.v, v, prec);
  if (spec.sharp && (v === "g" || v === "G") && !s.includes(".") && Number.isFinite(a.v)) {
    // %#g keeps the decimal point and trailing zeros; approximate with the point only.
    const ei = s.search(/[eE]/);
    s = ei < 0 ? `${s}.` : `${s.slice(0, ei)}.${s.slice(ei)}`;
  }
  if (!s.startsWith("-") && !s.startsWith("+")) {
    if (spec.plus) s = `+${s}`;
    else if (spec.space) s = ` ${s}`;
  } else if (s === "+Inf" && !spec.plus) {
    s = spec.space ? " Inf" : "+Inf";
  }
  const signLen = s[0] === "-" || s[0] === "+" || s[0] === " " ? 1 : 0;
  return pad(spec, s, signLen, Number.isFinite(a.v));
}
