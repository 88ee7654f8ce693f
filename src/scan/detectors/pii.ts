// PII detector: e-mail, phone numbers (libphonenumber-js), payment cards (Luhn + issuer prefix),
// US SSN (validity rules), IBAN (mod 97), IPv4/IPv6. Works on the raw string for redaction spans.
import { isIP } from "node:net";
import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max";
import { ibanValid, luhnValid, ssnValid } from "../checks.js";
import { ClaimedHits } from "../claimed-hits.js";
import { type DigitSpan, piiCandidates } from "../pii-candidates.js";
import { codeUnits, type TextFacts } from "../runs.js";
import type { DetectorHit } from "../types.js";
import { phoneVerdict } from "./phone-plans.js";

export const PII_TYPES = [
  "email",
  "phone",
  "credit_card",
  "us_ssn",
  "iban",
  "ip_address",
  "drivers_license",
  "passport",
] as const;
export type PiiType = (typeof PII_TYPES)[number];

export interface PiiOptions {
  types?: readonly PiiType[];
  /** Region used for phone numbers written without a +country prefix. */
  defaultRegion?: string;
  /** Exact values never reported (e.g. a support address). */
  allow?: string[];
}

const EMAIL_LOCAL = /[A-Za-z0-9._%+-]/;
const EMAIL_DOMAIN =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}/;
// 13-19 digits in groups separated by single spaces or dashes.
const CARD = /\d(?:[ -]?\d){11,18}(?!\d)/g;
const SSN = /(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])/g;
const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g;
const IPV4 = /(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])/g;
const IPV6 = /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])/g;
// Phone candidates: optional +country, then digit groups with phone-like separators.
const PHONE = /(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?!\w|-\d|\.\d)/g;
// Identity documents have no checksum to test; a label right before the number is the evidence.
const ID_DOCUMENT =
  /\b(?:(driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|dl)|(passports?))(?:\s+(?:number|no\.?|num|#|id))?\s*(?:is|:|=|#|-)?\s*([A-Z0-9][A-Z0-9-]{4,18}[0-9A-Z])\b/gi;
const SSN_CONTEXT = /\b(?:ssn|social security|social-security|soc\.? sec)/i;
// Issuer prefixes: Visa, Mastercard, Amex, Diners, Discover, JCB (incl. 1800/2131), Maestro, UnionPay.
const CARD_PREFIX = /^(?:4|5[0-9]|2[2-7]|3[47]|3(?:0[0-5]|[5689])|6|1800|2131)/;
const PHONE_CONTEXT =
  /\b(?:phone|tel|telephone|mobile|cell|fax|office|home|work|call|contact|whatsapp|sms|text me|ph)\b/i;

const isHex = (c: number) => (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102);

/**
 * Where `:[0-9A-Fa-f]{0,4}:` next matches at or after `from` (-1: nowhere), with `end` set to the
 * match's end: every ":" (found by indexOf) followed by up to four hex digits and another ":".
 */
function nextIpv6Gate(text: string, from: number, end: { at: number }): number {
  for (let i = text.indexOf(":", from); i !== -1; i = text.indexOf(":", i + 1)) {
    let j = i + 1;
    while (j < i + 5 && isHex(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) === 58) {
      end.at = j + 1;
      return i;
    }
  }
  return -1;
}

/** True when the character before `index` is one of `chars` ("w" stands for any word character). */
function precededBy(text: string, index: number, chars: string): boolean {
  if (index === 0) return false;
  const c = text[index - 1];
  return chars.includes(c) || (chars.includes("w") && /\w/.test(c));
}

/** One bit per PII type (its index in PII_TYPES). */
function typeBits(types: readonly PiiType[]): number {
  let bits = 0;
  for (const t of types) bits |= 1 << PII_TYPES.indexOf(t);
  return bits;
}
const ALL_TYPES = typeBits(PII_TYPES);
const bit = (t: PiiType) => 1 << PII_TYPES.indexOf(t);
const EMAIL = bit("email");
const PHONE_T = bit("phone");
const CARD_T = bit("credit_card");
const SSN_T = bit("us_ssn");
const IBAN_T = bit("iban");
const IP_T = bit("ip_address");
const DL_T = bit("drivers_license");
const PASSPORT_T = bit("passport");

/** The PII hits of one text (see ClaimedHits). */
class PiiHits extends ClaimedHits {
  constructor(
    text: string,
    private readonly allow: string[] | undefined,
  ) {
    super(text);
  }

  push(kind: PiiType, score: number, start: number, end: number): void {
    const value = this.text.slice(start, end);
    if (this.allow?.includes(value) || !this.claim(start, end)) return;
    this.hits.push({ detector: "pii", kind, score, evidence: maskPii(value), start, end });
  }
}

/**
 * Matches of a global regex inside the digit spans with at least `minDigits` digits and `minDots`
 * dots (each span plus one character after, for the patterns' look-aheads), in order, with indexes
 * into `text`.
 */
function spanMatches(
  re: RegExp,
  text: string,
  spans: DigitSpan[],
  minDigits: number,
  minDots = 0,
): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  for (const span of spans) {
    if (span.digits < minDigits || span.dots < minDots) continue;
    const part = text.slice(span.start, span.end + 1);
    re.lastIndex = 0;
    for (let m = re.exec(part); m !== null; m = re.exec(part)) {
      m.index += span.start;
      out.push(m);
    }
  }
  return out;
}

export function detectPii(text: string, options: PiiOptions = {}, facts: TextFacts = {}): DetectorHit[] {
  const types = options.types ? typeBits(options.types) : ALL_TYPES;
  const out = new PiiHits(text, options.allow);

  if (types & EMAIL) findEmails(text, out);
  // Cards, SSNs, phone numbers and IPv4 addresses are made of digit-span characters only, so
  // every match lies inside one digit span: their patterns run on the spans that have enough
  // digits (plus one character after, for the patterns' look-aheads), not on the whole text.
  // The candidate pass also says whether the text holds a digit, an IBAN's start (country code and
  // check digits) and one of the labels ID_DOCUMENT starts with.
  const found = piiCandidates(text, facts.units ?? codeUnits(text));
  const spans = found.spans;
  if (types & CARD_T) {
    for (const m of spanMatches(CARD, text, spans, 12)) {
      if (precededBy(text, m.index, "0123456789-")) continue;
      const digits = m[0].replace(/[ -]/g, "");
      if (digits.length < 12 || digits.length > 19 || !CARD_PREFIX.test(digits) || !luhnValid(digits))
        continue;
      if (/^(\d)\1+$/.test(digits)) continue;
      out.push("credit_card", 0.9, m.index, m.index + m[0].length);
    }
  }
  if (types & SSN_T) {
    for (const m of spanMatches(SSN, text, spans, 9)) {
      if (precededBy(text, m.index, "0123456789-")) continue;
      if (!ssnValid(m[1], m[3], m[4])) continue;
      const context = SSN_CONTEXT.test(text.slice(Math.max(0, m.index - 60), m.index));
      // Nine bare digits are often something else; separators or a label make it an SSN.
      const score = m[2] ? (context ? 0.95 : 0.75) : context ? 0.85 : 0.4;
      if (score >= 0.5) out.push("us_ssn", score, m.index, m.index + m[0].length);
    }
  }
  if (found.ibanGate && types & IBAN_T) {
    IBAN.lastIndex = 0;
    for (let m = IBAN.exec(text); m !== null; m = IBAN.exec(text)) {
      if (ibanValid(m[0])) out.push("iban", 0.95, m.index, m.index + m[0].length);
    }
  }
  if (types & IP_T) {
    for (const m of spanMatches(IPV4, text, spans, 4, 3)) {
      if (precededBy(text, m.index, "0123456789.")) continue;
      // Version strings like 1.2.3.4 are rare as real addresses; keep them but with a lower score.
      const score = /^(?:\d\.){3}\d$/.test(m[0]) ? 0.5 : 0.8;
      out.push("ip_address", score, m.index, m.index + m[0].length);
    }
    findIpv6(text, out);
  }
  if (found.hasDigit && found.idLabel && types & (DL_T | PASSPORT_T)) {
    ID_DOCUMENT.lastIndex = 0;
    for (let m = ID_DOCUMENT.exec(text); m !== null; m = ID_DOCUMENT.exec(text)) {
      const kind: PiiType = m[1] ? "drivers_license" : "passport";
      const value = m[3];
      if (!(types & bit(kind)) || !/\d/.test(value) || /^(?:number|expired?|valid)/i.test(value)) continue;
      const start = m.index + m[0].lastIndexOf(value);
      out.push(kind, 0.8, start, start + value.length);
    }
  }
  if (types & PHONE_T) findPhones(text, spans, (options.defaultRegion ?? "US") as CountryCode, out);
  return out.hits;
}

/**
 * IPv6 needs two colons close together; a gate finds them quickly (indexOf), then the full
 * pattern runs on a small window around each one.
 */
function findIpv6(text: string, out: PiiHits): void {
  let lastEnd = -1;
  const gateEnd = { at: 0 };
  for (let g = nextIpv6Gate(text, 0, gateEnd); g !== -1; ) {
    const from = Math.max(0, lastEnd, g - 40);
    const window = text.slice(from, g + 45);
    if (mayHoldIpv6(window)) {
      IPV6.lastIndex = 0;
      for (let m = IPV6.exec(window); m !== null; m = IPV6.exec(window)) {
        const start = from + m.index;
        if (m[0].length >= 6 && isIP(m[0]) === 6) out.push("ip_address", 0.8, start, start + m[0].length);
      }
    }
    lastEnd = g + 45;
    g = nextIpv6Gate(text, Math.max(gateEnd.at, lastEnd - 4), gateEnd);
  }
}

/**
 * False when no part of `window` can be an IPv6 address: made of hex digits and colons only (as
 * IPV6's matches are), an address has eight groups (seven colons) or a "::". Timestamps
 * ("13:09:11"), the usual reason for a gate, have neither.
 */
function mayHoldIpv6(window: string): boolean {
  if (window.includes("::")) return true;
  let colons = 0;
  for (let i = window.indexOf(":"); i !== -1; i = window.indexOf(":", i + 1)) if (++colons >= 7) return true;
  return false;
}

function findPhones(text: string, spans: DigitSpan[], region: CountryCode, out: PiiHits): void {
  for (const m of spanMatches(PHONE, text, spans, 7)) {
    const raw = m[0];
    if (raw.length < 7 || precededBy(text, m.index, "w+.-")) continue;
    const digits = raw.replace(/\D/g, "");
    if (digits.length < 7 || digits.length > 15) continue;
    const formatted = raw.startsWith("+") || /[ ().-]/.test(raw);
    // A bare run of digits is a phone number only at national length (10-11 in most plans).
    if (!formatted && (digits.length < 10 || digits.length > 11)) continue;
    // Dates, times and decimals are not phone numbers.
    if (/^\d+\.\d+$/.test(raw)) continue;
    if (/^\d{4}[-./]\d{1,2}[-./]\d{1,2}/.test(raw) || /^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$/.test(raw)) continue;
    if (phoneValid(raw, digits, region)) {
      out.push("phone", formatted ? 0.8 : 0.55, m.index, m.index + raw.length);
      continue;
    }
    // National numbers of other regions: accept phone-shaped digit groups next to a phone label.
    const around = text.slice(Math.max(0, m.index - 30), m.index + raw.length + 15);
    if (formatted && digits.length >= 7 && PHONE_CONTEXT.test(around))
      out.push("phone", 0.65, m.index, m.index + raw.length);
  }
}

// Verdicts come from libphonenumber's metadata compiled once (phone-plans.ts). libphonenumber itself
// (costly: 60-100 µs a number inside a scan) only parses national numbers when the configured
// region is not in its metadata; those verdicts are cached (bounded, cleared when full).
const phoneVerdicts = new Map<string, boolean>();
/** Forgets cached phone verdicts (benchmarks clear it so repeated text cannot hit the cache). */
export function clearPhoneCache(): void {
  phoneVerdicts.clear();
}
function phoneValid(raw: string, digits: string, region: CountryCode): boolean {
  if (notNorthAmerican(raw, digits, region)) return false;
  const fast = phoneVerdict(raw, digits, region);
  if (fast !== undefined) return fast;
  const key = `${region}|${raw}`;
  let v = phoneVerdicts.get(key);
  if (v === undefined) {
    v = parsePhoneNumberFromString(raw, region)?.isValid() ?? false;
    if (phoneVerdicts.size >= 4096) phoneVerdicts.clear();
    phoneVerdicts.set(key, v);
  }
  return v;
}

/**
 * True for numbers libphonenumber is known to reject, decided without parsing: a number in the
 * North American plan (written with +1, or without + when the default region is US) is valid
 * only with a 10-digit national number whose area code and exchange start with 2-9, or as a
 * 7-digit 310 number (Canada), after at most one national prefix "1". Numbers that start with
 * the US international prefix 011 go to the parser.
 */
function notNorthAmerican(raw: string, digits: string, region: CountryCode): boolean {
  let national: string;
  if (raw.startsWith("+")) {
    if (digits[0] !== "1") return false;
    national = digits.slice(1);
  } else {
    if (region !== "US" || digits.startsWith("011")) return false;
    national = digits;
  }
  return !nanpShape(national) && !(national[0] === "1" && nanpShape(national.slice(1)));
}
const nanpShape = (n: string) =>
  n.length === 10 ? n[0] >= "2" && n[3] >= "2" : n.length === 7 && n.startsWith("310");

function findEmails(text: string, out: PiiHits): void {
  for (let at = text.indexOf("@"); at !== -1; at = text.indexOf("@", at + 1)) {
    let s = at;
    while (s > 0 && at - s < 64 && EMAIL_LOCAL.test(text[s - 1])) s--;
    if (s === at) continue;
    const domain = EMAIL_DOMAIN.exec(text.slice(at + 1, at + 256));
    if (!domain) continue;
    // Trim leading dots of the local part.
    while (text[s] === ".") s++;
    out.push("email", 0.9, s, at + 1 + domain[0].length);
  }
}

function maskPii(value: string): string {
  if (value.length <= 4) return "*".repeat(value.length);
  return `${"*".repeat(value.length - 4)}${value.slice(-4)}`.slice(-24);
}
