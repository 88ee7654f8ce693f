// Phone-number validity from libphonenumber-js's own metadata, with its patterns compiled once.
// `parsePhoneNumberFromString(raw, region)?.isValid()` builds a Metadata wrapper and a new RegExp
// per pattern on every call and walks a large code path; inside a scan that costs 60-100 µs per
// number (cold code and metadata). This module follows the same steps for the numbers whose path
// is simple (no national prefix or carrier code to strip, no international dialling prefix
// without "+") and answers "don't know" for the others, which then go to libphonenumber.
// test/scan/phone-plans.test.ts checks the verdicts against libphonenumber on generated numbers.
import { Metadata } from "libphonenumber-js/max";

/** The numbering-plan accessors of libphonenumber-js's Metadata that this module reads. */
interface PlanView {
  callingCode(): string;
  IDDPrefix(): string;
  nationalNumberPattern(): string;
  possibleLengths(): number[] | undefined;
  nationalPrefixForParsing(): string | undefined;
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
  /** Number types with a pattern: possible lengths (the type's, else the plan's) and pattern. */
  types: Array<{ lengths: number[] | undefined; pattern: RegExp }> | undefined;
  /** National prefix (or carrier code) for parsing, anchored at the start. */
  prefixForParsing: RegExp | undefined;
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
      types,
      prefixForParsing: anchored(m.nationalPrefixForParsing()),
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
 * What `parsePhoneNumberFromString(raw, region)?.isValid() ?? false` answers, or undefined where
 * this module does not follow libphonenumber's path (the caller asks libphonenumber then).
 * `raw` must consist of digits and the separators ` .-()`, with at most a leading "+"; `digits`
 * are its digits.
 */
export function phoneVerdict(raw: string, digits: string, region: string): boolean | undefined {
  let callingCode: string;
  let national: string;
  let country: string | undefined;
  let p: Plan;
  if (raw.charCodeAt(0) === 43 /* + */) {
    // libphonenumber: a calling code of one to three digits (none starts with 0), the first known.
    if (digits.charCodeAt(0) === 48) return false;
    let cc = "";
    for (let i = 1; i <= 3 && i <= digits.length; i++) {
      if (metadata.hasCallingCode(digits.slice(0, i))) {
        cc = digits.slice(0, i);
        break;
      }
    }
    if (cc === "") return false;
    callingCode = cc;
    national = digits.slice(cc.length);
    p = plan(cc);
  } else {
    if (!metadata.hasCountry(region)) return undefined;
    p = plan(region);
    // Numbers that start with the international dialling prefix or with the region's own calling
    // code may be international numbers written without "+": libphonenumber's rules for those
    // are not followed here.
    if (p.idd?.test(digits) || digits.startsWith(p.callingCode)) return undefined;
    callingCode = p.callingCode;
    national = digits;
    country = region;
  }
  // A national prefix or carrier code libphonenumber may strip: not followed here.
  if (p.prefixForParsing?.test(national)) return undefined;
  if (national.length < MIN_NSN || national.length > MAX_NSN) return false;
  const exact = countryOf(callingCode, national);
  if (exact !== undefined) country = exact;
  return validIn(country !== undefined ? plan(country) : plan(callingCode), national);
}
