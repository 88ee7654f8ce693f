// Phone-number validity from libphonenumber-js's own metadata, with its patterns compiled once.
// `parsePhoneNumberFromString(raw, region)?.isValid()` builds a Metadata wrapper and a new RegExp
// per pattern on every call and walks a large code path; inside a scan that costs 60-100 µs per
// number (cold code and metadata). This module follows the same steps (calling code, national
// prefix, country, number type) on the same metadata; test/scan/phone-plans.test.ts checks its
// verdicts against libphonenumber's.
import { Metadata } from "libphonenumber-js/max";

/** The numbering-plan accessors of libphonenumber-js's Metadata that this module reads. */
interface PlanView {
  callingCode(): string;
  IDDPrefix(): string;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
  nationalPrefixForParsing(): string | undefined;
  nationalPrefixTransformRule(): string | undefined;
  leadingDigits(): string | undefined;
  hasTypes(): boolean;
  type(name: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
}
interface MetadataView {
  numberingPlan: PlanView;
  selectNumberingPlan(countryOrCallingCode: string): unknown;
  hasCountry(country: string): boolean;
  hasCallingCode(callingCode: string): boolean;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
}

// libphonenumber's getNumberType: FIXED_LINE first, then these; a number is valid when one matches.
const TYPES = [
  "FIXED_LINE",
  "MOBILE",
  "PREMIUM_RATE",
  "TOLL_FREE",
  "SHARED_COST",
  "VOIP",
  "PERSONAL_NUMBER",
  "PAGER",
  "UAN",
  "VOICEMAIL",
];
// libphonenumber's bounds on a national significant number (MIN/MAX_LENGTH_FOR_NSN).
const MIN_NSN = 2;
const MAX_NSN = 17;

/** One numbering plan (a country, or a non-geographic calling code) with its patterns compiled. */
interface Plan {
  callingCode: string;
  /** Whole national number (`^(?:…)$`). */
  national: RegExp;
  /** Possible lengths of a national number, ascending. */
  lengths: number[] | undefined;
  /** Number types with a pattern: possible lengths (the type's, else the plan's) and pattern. */
  types: Array<{ lengths: number[] | undefined; pattern: RegExp }> | undefined;
  /** National prefix (or carrier code) for parsing, anchored at the start. */
  prefixForParsing: RegExp | undefined;
  /** Rewrites the national number when the prefix pattern captured something ("$1…"). */
  transformRule: string | undefined;
  /** Leading digits that pick this country among those sharing a calling code. */
  leadingDigits: RegExp | undefined;
  /** International dialling prefix, anchored at the start. */
  idd: RegExp | undefined;
}

const metadata = new Metadata() as unknown as MetadataView;
// Compiled on first use: a scan meets a handful of plans, not all ~250.
const plans = new Map<string, Plan>();

/** The plan of a country ("FR") or of a calling code ("33": its main country, or non-geographic). */
function plan(countryOrCallingCode: string): Plan {
  let p = plans.get(countryOrCallingCode);
  if (p === undefined) {
    metadata.selectNumberingPlan(countryOrCallingCode);
    const m = metadata.numberingPlan;
    const anchored = (source: string | undefined) => (source ? new RegExp(`^(?:${source})`) : undefined);
    let types: Plan["types"];
    if (m.hasTypes()) {
      types = [];
      for (const name of TYPES) {
        const t = m.type(name);
        const source = t?.pattern();
        if (t && source) types.push({ lengths: t.possibleLengths(), pattern: new RegExp(`^(?:${source})$`) });
      }
    }
    p = {
      callingCode: m.callingCode(),
      national: new RegExp(`^(?:${m.nationalNumberPattern()})$`),
      lengths: m.possibleLengths(),
      types,
      prefixForParsing: anchored(m.nationalPrefixForParsing()),
      transformRule: m.nationalPrefixTransformRule() || undefined,
      leadingDigits: anchored(m.leadingDigits()),
      idd: anchored(m.IDDPrefix()),
    };
    plans.set(countryOrCallingCode, p);
  }
  return p;
}

/** libphonenumber's getNumberType(...) !== undefined for a national number in a plan. */
function hasType(p: Plan, nsn: string): boolean {
  if (!p.national.test(nsn)) return false;
  for (const t of p.types ?? []) {
    if (t.lengths && !t.lengths.includes(nsn.length)) continue;
    if (t.pattern.test(nsn)) return true;
  }
  return false;
}

/** libphonenumber's isValid for a national number: by number types when the plan has them. */
function validIn(p: Plan, nsn: string): boolean {
  return p.types ? hasType(p, nsn) : p.national.test(nsn);
}

/**
 * libphonenumber's getCountryByCallingCode: the only country of the calling code, or the first
 * whose leading digits start the number, or (countries without leading digits) where it has a type.
 */
function countryOf(callingCode: string, nsn: string): string | undefined {
  const countries = metadata.getCountryCodesForCallingCode(callingCode);
  if (!countries) return undefined;
  if (countries.length === 1) return countries[0];
  for (const country of countries) {
    const p = plan(country);
    if (p.leadingDigits ? p.leadingDigits.test(nsn) : hasType(p, nsn)) return country;
  }
  return undefined;
}

/**
 * libphonenumber's checkNumberLength (no type): "short" below the shortest possible length,
 * "invalid" between the shortest and longest but not possible, "long" above the longest.
 */
function lengthVerdict(lengths: number[] | undefined, n: number): "ok" | "short" | "invalid" | "long" {
  if (!lengths || lengths[0] === n) return "ok";
  if (lengths[0] > n) return "short";
  if (lengths[lengths.length - 1] < n) return "long";
  return lengths.includes(n) ? "ok" : "invalid";
}

/**
 * libphonenumber's extractNationalNumber: `number` without the national prefix (or carrier code)
 * that the plan's pattern finds at its start, or rewritten by the plan's transform rule when the
 * pattern captured digits (e.g. an Argentine mobile "0 11 15 …" becomes "9 11 …"); unchanged when
 * the number only matches the national pattern as it is, or would be too short or of an
 * impossible length without the prefix.
 */
function nationalNumber(p: Plan, number: string): string {
  const prefix = p.prefixForParsing;
  const m = prefix?.exec(number);
  if (!prefix || !m) return number;
  const captured = m.length > 1 && !!m[m.length - 1];
  const stripped =
    p.transformRule && captured ? number.replace(prefix, p.transformRule) : number.slice(m[0].length);
  if (stripped === number) return number;
  if (p.national.test(number) && !p.national.test(stripped)) return number;
  if (p.lengths) {
    const country = countryOf(p.callingCode, stripped);
    const verdict = lengthVerdict(country !== undefined ? plan(country).lengths : p.lengths, stripped.length);
    if (verdict === "short" || verdict === "invalid") return number;
  }
  return stripped;
}

/** The calling code that starts `digits` (one to three digits, the first one known), or "". */
function callingCodeOf(digits: string): string {
  if (digits.charCodeAt(0) === 48) return ""; // no calling code starts with 0
  for (let i = 1; i <= 3 && i <= digits.length; i++) {
    const cc = digits.slice(0, i);
    if (metadata.hasCallingCode(cc)) return cc;
  }
  return "";
}

/**
 * What `parsePhoneNumberFromString(raw, region)?.isValid() ?? false` answers; undefined for a
 * number without "+" when the region is not in the metadata (the caller asks libphonenumber).
 * `raw` must consist of digits and the separators ` .-()`, with at most a leading "+"; `digits`
 * are its digits.
 */
export function phoneVerdict(raw: string, digits: string, region: string): boolean | undefined {
  // libphonenumber's extractCountryCallingCode: "+" (or the region's international dialling
  // prefix, not followed by 0) and a calling code; without them, the region's own calling code
  // at the start when the number is only valid, or not too long, without it.
  let international = raw.charCodeAt(0) === 43; /* + */
  let rest = digits;
  let callingCode = "";
  let country: string | undefined;
  if (!international) {
    if (!metadata.hasCountry(region)) return undefined; // left to libphonenumber (rare config)
    const home = plan(region);
    const idd = home.idd?.exec(digits);
    if (idd && digits.length > idd[0].length && digits.charCodeAt(idd[0].length) !== 48) {
      international = true;
      rest = digits.slice(idd[0].length);
    } else if (digits.startsWith(home.callingCode)) {
      const shorter = digits.slice(home.callingCode.length);
      const shorterNational = nationalNumber(home, shorter);
      const fullNational = nationalNumber(home, digits);
      if (
        (!home.national.test(fullNational) && home.national.test(shorterNational)) ||
        lengthVerdict(home.lengths, fullNational.length) === "long"
      ) {
        callingCode = home.callingCode;
        rest = shorter;
      }
    }
    if (!international && callingCode === "") {
      callingCode = home.callingCode;
      country = region;
    }
  }
  if (international) {
    callingCode = callingCodeOf(rest);
    if (callingCode === "") return false;
    rest = rest.slice(callingCode.length);
  }
  // The national number: with the plan of the region when no calling code was written, else
  // with the main plan of the calling code.
  const p = country !== undefined ? plan(country) : plan(callingCode);
  if (rest === "") return false;
  const national = nationalNumber(p, rest);
  if (national.length < MIN_NSN || national.length > MAX_NSN) return false;
  const exact = countryOf(callingCode, national);
  if (exact !== undefined) country = exact;
  return validIn(country !== undefined ? plan(country) : plan(callingCode), national);
}
