// Normalisation against obfuscation, run before the injection and tool-poisoning detectors.
// Produces the text a detector should read plus the payloads hidden inside it (Unicode tag
// characters, base64 / hex / percent-encoded runs) so they can be scanned as well.

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
// Encoded runs. Every quantifier is bounded or over a single character class, so matching is linear.
const BASE64_RUN = /[A-Za-z0-9+/_-]{24,}={0,2}/g;
const HEX_RUN = /(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){12,}(?![0-9A-Fa-f])/g;
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/g;

// Latin look-alikes from Cyrillic, Greek and a few other blocks that NFKC leaves alone.
const CONFUSABLES: Record<string, string> = {
  а: "a",
  в: "b",
  е: "e",
  ё: "e",
  к: "k",
  м: "m",
  н: "h",
  о: "o",
  р: "p",
  с: "c",
  т: "t",
  у: "y",
  х: "x",
  ѕ: "s",
  і: "i",
  ї: "i",
  ј: "j",
  һ: "h",
  ԁ: "d",
  ԛ: "q",
  ԝ: "w",
  ɡ: "g",
  ɑ: "a",
  ο: "o",
  α: "a",
  ε: "e",
  ι: "i",
  κ: "k",
  ν: "v",
  ρ: "p",
  τ: "t",
  υ: "u",
  χ: "x",
  γ: "y",
  η: "n",
  ω: "w",
  ϲ: "c",
  ı: "i",
  ȷ: "j",
  А: "a",
  В: "b",
  Е: "e",
  К: "k",
  М: "m",
  Н: "h",
  О: "o",
  Р: "p",
  С: "c",
  Т: "t",
  У: "y",
  Х: "x",
  Ѕ: "s",
  І: "i",
  Ј: "j",
  Α: "a",
  Β: "b",
  Ε: "e",
  Ζ: "z",
  Η: "h",
  Ι: "i",
  Κ: "k",
  Μ: "m",
  Ν: "n",
  Ο: "o",
  Ρ: "p",
  Τ: "t",
  Υ: "y",
  Χ: "x",
  "\u2018": "'",
  "\u2019": "'",
  "\u201C": '"',
  "\u201D": '"',
  "\u2013": "-",
  "\u2014": "-",
};
const CONFUSABLE_RE = new RegExp(`[${Object.keys(CONFUSABLES).join("")}]`, "g");
// Invisible characters, Greek / Cyrillic / IPA letters and the lead surrogate of tag and
// variation-selector characters: one native test tells whether the rare steps (removal,
// confusable folding) have anything to do; most non-ASCII text (accents, quotes) has none of them.
const RARE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point is tested on its own
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uDB40\u0250-\u02AF\u0370-\u052F]/;
// Greek, Cyrillic and IPA letters: only then is the full confusable map worth running.
const MIXED_SCRIPT = /[\u0250-\u02AF\u0370-\u052F]/;
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

function collectEncoded(text: string, hidden: HiddenPayload[], depth: number, known?: Run[]): void {
  if (depth <= 0 || text.length < 24) return;
  const found: Array<[HiddenPayload["encoding"], string]> = [];
  // Candidates are long token runs (one linear pass); the run regexes then only see those.
  for (const run of known ?? tokenRuns(text, 24)) {
    if (run.end - run.start < 24) continue;
    const chunk = text.slice(run.start, run.end);
    // exec loops on the shared global regexes: matchAll would clone each regex per chunk.
    HEX_RUN.lastIndex = 0;
    for (let m = HEX_RUN.exec(chunk); m !== null; m = HEX_RUN.exec(chunk)) {
      const decoded = printableOrNull(Buffer.from(m[0], "hex").toString("utf8"));
      if (decoded) found.push(["hex", decoded]);
    }
    BASE64_RUN.lastIndex = 0;
    for (let m = BASE64_RUN.exec(chunk); m !== null; m = BASE64_RUN.exec(chunk)) {
      if (/^[0-9A-Fa-f]+$/.test(m[0])) continue; // already tried as hex
      const decoded = decodeBase64(m[0]);
      if (decoded) found.push(["base64", decoded]);
    }
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

function decodeBase64(run: string): string | null {
  // Mixed case plus at least a digit or symbol is typical of encoded data; plain words are not.
  if (!/[A-Z]/.test(run) || !/[a-z]/.test(run)) return null;
  const b64 = run.replace(/-/g, "+").replace(/_/g, "/");
  return printableOrNull(Buffer.from(b64, "base64").toString("utf8"));
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
