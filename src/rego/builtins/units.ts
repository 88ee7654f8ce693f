// units.parse / units.parse_bytes (Kubernetes-style quantities), exact for large results.

import { normBig, type Value } from "../value.js";
import { builtinErr, str } from "./args.js";
import { registerBuiltin } from "./types.js";

const SI: Record<string, [bigint, number]> = {
  // unit → [integer factor, extra power of ten]
  "": [1n, 0],
  m: [1n, -3],
  k: [1000n, 0],
  K: [1000n, 0],
  M: [10n ** 6n, 0],
  g: [10n ** 9n, 0],
  G: [10n ** 9n, 0],
  t: [10n ** 12n, 0],
  T: [10n ** 12n, 0],
  p: [10n ** 15n, 0],
  P: [10n ** 15n, 0],
  e: [10n ** 18n, 0],
  E: [10n ** 18n, 0],
  ki: [1n << 10n, 0],
  Ki: [1n << 10n, 0],
  mi: [1n << 20n, 0],
  Mi: [1n << 20n, 0],
  gi: [1n << 30n, 0],
  Gi: [1n << 30n, 0],
  ti: [1n << 40n, 0],
  Ti: [1n << 40n, 0],
  pi: [1n << 50n, 0],
  Pi: [1n << 50n, 0],
  ei: [1n << 60n, 0],
  Ei: [1n << 60n, 0],
};

const BYTES: Record<string, bigint> = {
  "": 1n,
  k: 1000n,
  kb: 1000n,
  ki: 1n << 10n,
  kib: 1n << 10n,
  m: 10n ** 6n,
  mb: 10n ** 6n,
  mi: 1n << 20n,
  mib: 1n << 20n,
  g: 10n ** 9n,
  gb: 10n ** 9n,
  gi: 1n << 30n,
  gib: 1n << 30n,
  t: 10n ** 12n,
  tb: 10n ** 12n,
  ti: 1n << 40n,
  tib: 1n << 40n,
  p: 10n ** 15n,
  pb: 10n ** 15n,
  pi: 1n << 50n,
  pib: 1n << 50n,
  e: 10n ** 18n,
  eb: 10n ** 18n,
  ei: 1n << 60n,
  eib: 1n << 60n,
};

/** Decimal text → mantissa × 10^exp, or undefined if it is not a number. */
function parseDecimal(text: string): { mant: bigint; exp: number } | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || `${m[2]}${m[3] ?? ""}` === "") return undefined;
  const frac = m[3] ?? "";
  const digits = `${m[2]}${frac}` || "0";
  const e = m[4] === undefined ? 0 : Number(m[4]);
  return { mant: BigInt(m[1] === "-" ? `-${digits}` : digits), exp: e - frac.length };
}

// Results are materialised exactly; bound the work a hostile "1e999999" could cause.
const MAX_DECIMAL_EXPONENT = 10_000;

function toNumber(name: string, mant: bigint, exp: number): number | bigint {
  if (exp > MAX_DECIMAL_EXPONENT) throw builtinErr(name, "exponent too large");
  if (exp >= 0) return normBig(mant * 10n ** BigInt(exp));
  const div = 10n ** BigInt(-exp);
  if (mant % div === 0n) return normBig(mant / div);
  return Number(`${mant}e${exp}`);
}

const MAX_EXPONENT_DIGITS = 6;

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/**
 * Splits "10.5Ki" into amount and unit as OPA does: the amount runs over digits, '.', signs
 * and an exponent (e/E followed by a digit or sign); an exponent longer than 6 digits is refused.
 */
function split(name: string, s: string): [string, string] {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (isDigit(c) || c === "." || c === "+" || c === "-") continue;
    if (c !== "e" && c !== "E") break;
    const next = s[i + 1];
    if (!(isDigit(next) || next === "+" || next === "-")) break;
    if (next === "+" || next === "-") i++;
    let j = i + 1;
    while (isDigit(s[j])) j++;
    if (j - (i + 1) > MAX_EXPONENT_DIGITS) throw builtinErr(name, "exponent too large");
  }
  return [s.slice(0, i), s.slice(i)];
}

registerBuiltin(
  "units.parse",
  ([a]) => {
    const name = "units.parse";
    const s = str(name, 1, a).replaceAll('"', "");
    if (s.includes(" ")) throw builtinErr(name, "spaces not allowed in resource strings");
    const [num, rawUnit] = split(name, s);
    if (num === "") throw builtinErr(name, "no amount provided");
    // Only the letters after the first are case-folded, so 'm' (milli) and 'M' (mega) differ.
    const unit = rawUnit.length > 1 ? rawUnit[0] + rawUnit.slice(1).toLowerCase() : rawUnit;
    const factor = SI[unit];
    if (factor === undefined) throw builtinErr(name, `unit ${unit} not recognized`);
    const d = parseDecimal(num);
    if (!d) throw builtinErr(name, "could not parse amount to a number");
    return toNumber(name, d.mant * factor[0], d.exp + factor[1]);
  },
  { arity: 1 },
);

registerBuiltin(
  "units.parse_bytes",
  ([a]) => {
    const name = "units.parse_bytes";
    const s = str(name, 1, a).toLowerCase().replaceAll('"', "");
    if (s.includes(" ")) throw builtinErr(name, "spaces not allowed in resource strings");
    const [num, unit] = split(name, s);
    if (num === "") throw builtinErr(name, "no byte amount provided");
    const factor = BYTES[unit];
    if (factor === undefined) throw builtinErr(name, `byte unit ${unit} not recognized`);
    const d = parseDecimal(num);
    if (!d) throw builtinErr(name, "could not parse byte amount to a number");
    if (d.exp > MAX_DECIMAL_EXPONENT) throw builtinErr(name, "exponent too large");
    const scaled = d.mant * factor;
    // Bytes are whole: truncate any fraction.
    return normBig(d.exp >= 0 ? scaled * 10n ** BigInt(d.exp) : scaled / 10n ** BigInt(-d.exp));
  },
  { arity: 1 },
);

export type { Value };
