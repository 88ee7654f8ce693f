// Normalisation against obfuscation, run before the injection and tool-poisoning detectors.
// Produces the text a detector should read plus the payloads hidden inside it (Unicode tag
// characters, base64 / hex / percent-encoded runs) so they can be scanned as well.

import { CONFUSABLES, MIXED_SCRIPT } from "./confusables.js";
import { lowerFolded, stableForm } from "./lower-fold.js";
import { type Run, tokenRuns } from "./runs.js";

export interface Normalized {
  /** NFKC, invisible characters removed, confusables folded, lower-cased. */
  text: string;
  /** Payloads decoded from the text (tag-character smuggling, base64, hex, url-encoding). */
  hidden: HiddenPayload[];
  /** Number of invisible / format characters that were removed. */
  invisibleCount: number;
}

export interface HiddenPayload {
  encoding: "unicode_tags" | "base64" | "hex" | "url";
  /** Decoded payload, normalised the same way as `text`. */
  text: string;
}

// Zero-width, bidi controls, soft hyphen, word joiners, Hangul fillers, variation selectors, BOM.
// One character class (scanned as a bitmap) rather than an alternation of single characters.
const INVISIBLE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point is removed on its own
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|\uDB40[\uDD00-\uDDEF]/g;
// Unicode tag block U+E0000..U+E007F (surrogate pair \uDB40\uDC00-\uDC7F).
const TAG_RUN = /(?:\uDB40[\uDC00-\uDC7F])+/g;
// Encoded runs are found in the token runs by encodedInRun (below), which reads each run's
// characters once and gives what these would match there:
//   base64: /[A-Za-z0-9+/_-]{24,}={0,2}/g    hex: /(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){12,}(?![0-9A-Fa-f])/g
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/g;

const CONFUSABLE_RE = new RegExp(`[${Object.keys(CONFUSABLES).join("")}]`, "g");
// Invisible characters, Greek / Cyrillic / IPA letters and the lead surrogate of tag and
// variation-selector characters: one native test tells whether the rare steps (removal,
// confusable folding) have anything to do; most non-ASCII text (accents, quotes) has none of them.
const RARE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point is tested on its own
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uDB40\u0250-\u02AF\u0370-\u052F]/;
export interface NormalizeOptions {
  /** Decode base64 / hex / url-encoded runs (default true). */
  decode?: boolean;
  /** How many nested encodings to peel (default 2). */
  maxDepth?: number;
  /** Token runs of the input (`tokenRuns(input, RUN_MIN)`), when the caller already computed them. */
  runs?: Run[];
}

/** Cyrillic / Greek / IPA look-alikes folded to Latin (rules written for non-Latin words use it too). */
export function foldConfusables(text: string): string {
  return MIXED_SCRIPT.test(text) ? text.replace(CONFUSABLE_RE, (c) => CONFUSABLES[c] ?? c) : text;
}

export function normalize(input: string, options: NormalizeOptions = {}): Normalized {
  const hidden: HiddenPayload[] = [];
  // Most text (ASCII, accents, typographic quotes and dashes, CJK, full-width punctuation) is made of
  // stable characters: its normalised form is one table lookup per non-ASCII character.
  let text = stableForm(input);
  let invisibleCount = 0;
  if (text === undefined) {
    const stepwise = normalizeStepwise(input, hidden);
    text = stepwise.text;
    invisibleCount = stepwise.invisibleCount;
  }
  if (options.decode !== false) collectEncoded(input, hidden, options.maxDepth ?? 2, options.runs);
  return { text, hidden, invisibleCount };
}

/**
 * Every step on its own (what `normalize` does for text with unstable characters; exported for
 * the tests that check the stable characters against it). Decoded tag characters go to `hidden`.
 */
export function normalizeStepwise(
  input: string,
  hidden: HiddenPayload[] = [],
): { text: string; invisibleCount: number } {
  let text = input;
  let invisibleCount = 0;
  const rare = RARE.test(text);
  if (rare && text.includes("\uDB40")) {
    text = text.replace(TAG_RUN, (run) => {
      const decoded = decodeTags(run);
      if (decoded.trim().length > 0) hidden.push({ encoding: "unicode_tags", text: decoded.toLowerCase() });
      return " ";
    });
  }
  // The replace callback only runs when there is something to count.
  INVISIBLE.lastIndex = 0;
  if (rare && INVISIBLE.test(text)) {
    INVISIBLE.lastIndex = 0;
    text = text.replace(INVISIBLE, () => {
      invisibleCount++;
      return "";
    });
  }
  // V8 returns the string itself when ICU's quick check finds it normalised already, which costs
  // less than any test for the characters NFKC could change.
  const nfkc = text.normalize("NFKC");
  const folded = nfkc !== text;
  text = nfkc;
  // NFKC can produce Greek letters (mathematical alphanumerics, modifier letters): test again.
  if ((rare || folded) && MIXED_SCRIPT.test(text))
    text = text.replace(CONFUSABLE_RE, (c) => CONFUSABLES[c] ?? c);
  // Quotes, dashes and no-break spaces have no case: folded with the lower-casing.
  return { text: lowerFolded(text), invisibleCount };
}

/** Whitespace as `\s` sees it (ASCII and the Unicode spaces). */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(String.fromCharCode(c)));
}

function decodeTags(run: string): string {
  let out = "";
  for (let i = 0; i + 1 < run.length; i += 2) {
    const cp = run.codePointAt(i) ?? 0;
    const ascii = cp - 0xe0000;
    if (ascii >= 0x20 && ascii < 0x7f) out += String.fromCharCode(ascii);
  }
  return out;
}

/** Payloads decoded from a text, in the order they are found. */
type Found = Array<[HiddenPayload["encoding"], string]>;

function collectEncoded(text: string, hidden: HiddenPayload[], depth: number, known?: Run[]): void {
  if (depth <= 0 || text.length < 24) return;
  const found: Found = [];
  // Candidates are long token runs (one linear pass); only their characters are read again.
  for (const run of known ?? tokenRuns(text, 24)) {
    if (run.end - run.start < 24) continue;
    encodedInRun(text, run.start, run.end, found);
  }
  // Whitespace-separated tokens with at least three %XX escapes, visited from each "%" (a regex
  // with a leading unbounded class would not be linear; splitting all the text costs more).
  for (let pct = text.indexOf("%"); pct !== -1; ) {
    let start = pct;
    while (start > 0 && !isSpace(text.charCodeAt(start - 1))) start--;
    let end = pct + 1;
    while (end < text.length && !isSpace(text.charCodeAt(end))) end++;
    pct = text.indexOf("%", end);
    const token = text.slice(start, end);
    if (token.length < 9) continue;
    const escapes = token.match(PERCENT_ESCAPE);
    if (!escapes || escapes.length < 3) continue;
    try {
      found.push(["url", decodeURIComponent(token.replace(/\+/g, " "))]);
    } catch {
      // malformed escapes: not a payload
    }
  }
  for (const [encoding, decoded] of found) {
    hidden.push({ encoding, text: normalize(decoded, { decode: false }).text });
    collectEncoded(decoded, hidden, depth - 1);
  }
}

// Classes of the characters of a token run ([A-Za-z0-9+/=_.~-], all ASCII).
const HEX_DIGIT = 1;
const BASE64_CHAR = 2; // [A-Za-z0-9+/_-]
const UPPER = 4;
const LOWER = 8;
const RUN_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  RUN_CLASS[c] =
    (/[0-9A-Fa-f]/.test(ch) ? HEX_DIGIT : 0) |
    (/[A-Za-z0-9+/_-]/.test(ch) ? BASE64_CHAR : 0) |
    (/[A-Z]/.test(ch) ? UPPER : 0) |
    (/[a-z]/.test(ch) ? LOWER : 0);
}
/**
 * Hex and base64 payloads in the token run start..end, in the order the two patterns above find
 * them (the run's hex ones, then its base64 ones), from one read of its characters. Both lie in
 * maximal runs of base64 characters ("segments") of at least 24: a base64 match is such a segment
 * with up to two "=" after it, and a hex match a maximal run of hex digits (a subset) of even
 * length, at least 24 (an odd run has no match: a match must not touch a digit). Base64 matches
 * of hex digits only are tried as hex alone, and those without both an upper- and a lower-case
 * letter not at all (plain words and identifiers; encoded data has both).
 */
function encodedInRun(text: string, start: number, end: number, found: Found): void {
  let base64: string[] | undefined;
  for (let i = start; i < end; ) {
    if ((RUN_CLASS[text.charCodeAt(i) & 0x7f] & BASE64_CHAR) === 0) {
      i++;
      continue;
    }
    let j = i;
    let classes = 0;
    let hexDigits = 0;
    for (; j < end; j++) {
      const cls = RUN_CLASS[text.charCodeAt(j) & 0x7f];
      if ((cls & BASE64_CHAR) === 0) break;
      classes |= cls;
      hexDigits += cls & HEX_DIGIT;
    }
    if (j - i < 24) {
      i = j;
      continue;
    }
    if (hexDigits >= 24) hexInSegment(text, i, j, found);
    let padded = j;
    while (padded < end && padded < j + 2 && text.charCodeAt(padded) === 61) padded++; // "="
    if ((hexDigits < j - i || padded > j) && (classes & UPPER) !== 0 && (classes & LOWER) !== 0) {
      const decoded = decodeBase64(text.slice(i, padded), j - i);
      if (decoded) {
        base64 ??= [];
        base64.push(decoded);
      }
    }
    i = padded;
  }
  if (base64) for (const decoded of base64) found.push(["base64", decoded]);
}

/** Hex payloads in the segment start..end: its maximal runs of hex digits of even length, at least 24. */
function hexInSegment(text: string, start: number, end: number, found: Found): void {
  for (let i = start; i < end; ) {
    if ((RUN_CLASS[text.charCodeAt(i) & 0x7f] & HEX_DIGIT) === 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < end && (RUN_CLASS[text.charCodeAt(j) & 0x7f] & HEX_DIGIT) !== 0) j++;
    if (j - i >= 24 && ((j - i) & 1) === 0) {
      const decoded = printableOrNull(Buffer.from(text.slice(i, j), "hex").toString("utf8"));
      if (decoded) found.push(["hex", decoded]);
    }
    i = j;
  }
}

// Decoded base64 is written here first: most candidates decode to bytes without a space, which
// printableOrNull rejects, so they never become a string.
let base64Bytes = Buffer.alloc(3072);

/** `run` (base64 or base64url with `unpadded` characters before its "=") decoded when it reads like text. */
function decodeBase64(run: string, unpadded: number): string | null {
  // Node decodes both alphabets; Buffer.from(run, "base64") writes this many bytes.
  const length = (unpadded * 3) >>> 2;
  if (base64Bytes.length < length) base64Bytes = Buffer.alloc(length);
  const written = base64Bytes.write(run, 0, length, "base64");
  // A space in UTF-8 is the byte 0x20 and nothing else: without one, printableOrNull says no.
  let space = 0;
  while (space < written && base64Bytes[space] !== 0x20) space++;
  if (space === written) return null;
  return printableOrNull(base64Bytes.toString("utf8", 0, written));
}

/** Keeps decodings that read like text: mostly printable, with spaces (words). */
function printableOrNull(s: string): string | null {
  if (s.length < 8) return null;
  let printable = 0;
  let spaces = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x0d || c === 0x09) printable++;
    if (c === 0x20) spaces++;
  }
  return printable / s.length >= 0.9 && spaces >= 1 ? s : null;
}
