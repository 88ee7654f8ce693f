// The last step of normalisation, lower-casing (with typographic quotes, dashes and no-break spaces
// folded to ASCII), and for most text the only one: `stableForm` gives the normalised form of text
// made of stable characters (below) or undefined, `lowerFolded` lower-cases text already in NFKC.
//
// Why not `toLowerCase` itself: V8 lower-cases a one-byte (Latin-1) string with a fast table loop,
// but any other string through ICU, about six times slower per character, and one en dash or
// bullet makes a whole text two-byte. Here the text's code units are written into a buffer and
// mapped there: ASCII ones two per 32-bit word with a few integer operations, the few others
// looked up in a table (FORM) of their normalised forms. The buffer read back is the result (a
// one-byte string when every unit fits). ASCII text goes straight to `toLowerCase`.
//
// Lower case is per character except for Greek capital sigma (final or not, by its neighbours):
// `lowerFolded` leaves text with it to `toLowerCase`. U+0130 lower-cases to two code units, "i" and
// a combining dot, which is inserted when the buffer is read back.

import { CONFUSABLES, MIXED_SCRIPT_RANGES } from "./confusables.js";

/** Folded to an ASCII character by normalisation (they have no case), by code unit. */
export const FOLDED: ReadonlyArray<readonly [number, string]> = [
  [0x00a0, " "],
  [0x2018, "'"],
  [0x2019, "'"],
  [0x201c, '"'],
  [0x201d, '"'],
  [0x2013, "-"],
  [0x2014, "-"],
];

/**
 * Blocks searched for stable characters: Latin-1 Supplement, Latin Extended-A and -B, punctuation,
 * super- and subscripts, currency, letter-like and number forms, arrows, mathematical and
 * technical symbols, box drawing, shapes, dingbats, CJK symbols and punctuation, kana, half- and
 * full-width forms. A character there is stable when its NFKC form is one character and
 * lower-cases to one code unit, and neither is a mark, control, format, private-use or unassigned
 * character, Greek, Cyrillic, IPA (those are folded as look-alikes), a Hangul jamo (they compose
 * with their neighbours) or a look-alike folded to Latin.
 */
const SEARCHED_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [0x0080, 0x024f],
  [0x2000, 0x2bff],
  [0x3000, 0x30ff],
  [0xff00, 0xffef],
];
/** Blocks of caseless characters that are their own NFKC form and combine with no neighbour: CJK ideographs, Hangul syllables. */
export const KEPT_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [0x4e00, 0x9fff],
  [0xac00, 0xd7a3],
];
const NEVER_STABLE = /[\p{M}\p{C}\u0250-\u02AF\u0370-\u052F\u1100-\u11FF\u3130-\u318F\u0131\u0237]/u;

/**
 * By code unit, the normalised form of a stable character: the lower case of its NFKC form, folded
 * as FOLDED says; 0 for characters that are not stable (and for ASCII, lower-cased in bulk). Built
 * on first use (a few milliseconds of ICU calls).
 */
let FORM: Uint16Array | undefined;
function formTable(): Uint16Array {
  const form = new Uint16Array(65536);
  const folded = new Map(FOLDED.map(([c, ascii]) => [c, ascii.charCodeAt(0)]));
  for (const [first, last] of SEARCHED_BLOCKS)
    for (let c = first; c <= last; c++) {
      const ch = String.fromCharCode(c);
      const nfkc = ch.normalize("NFKC");
      if (nfkc.length !== 1 || NEVER_STABLE.test(ch) || NEVER_STABLE.test(nfkc)) continue;
      const lower = nfkc.toLowerCase();
      if (lower.length === 1) form[c] = folded.get(lower.charCodeAt(0)) ?? lower.charCodeAt(0);
    }
  for (const [first, last] of KEPT_BLOCKS) for (let c = first; c <= last; c++) form[c] = c;
  markStablePictographs();
  MIXED_FORM = mixedFormTable(form);
  return form;
}

/**
 * Text with a Greek, Cyrillic or IPA letter has CONFUSABLES folded (after NFKC, before lower case),
 * so there those letters and ı, ȷ have a normalised form too: by code unit from MIXED_FIRST, the
 * lower case of the fold of the NFKC form, when that is one character, not a mark or control, and
 * the letter is not capital sigma (final or not by its neighbours); FORM's for the stable ones.
 * Only letters whose NFKC form is in MIXED_SCRIPT_RANGES switch a text to these forms (MIXED_SWITCH).
 */
const MIXED_FIRST = 0x100;
let MIXED_FORM: Uint16Array = new Uint16Array(0);
let MIXED_SWITCH = new Uint8Array(0);
function mixedFormTable(form: Uint16Array): Uint16Array {
  const folded = new Map(FOLDED.map(([c, ascii]) => [c, ascii.charCodeAt(0)]));
  const mixed = new Uint16Array(0x530 - MIXED_FIRST);
  MIXED_SWITCH = new Uint8Array(mixed.length);
  for (let c = MIXED_FIRST; c < 0x530; c++) mixed[c - MIXED_FIRST] = form[c];
  for (const c of [0x131, 0x237, ...MIXED_SCRIPT_RANGES.flatMap(([first, last]) => range(first, last))]) {
    const nfkc = String.fromCharCode(c).normalize("NFKC");
    if (c === SIGMA || nfkc.length !== 1 || /[\p{M}\p{C}\u03A3]/u.test(nfkc)) continue;
    const lower = (CONFUSABLES[nfkc] ?? nfkc).toLowerCase();
    if (lower.length !== 1 || lower === "\u03A3") continue;
    mixed[c - MIXED_FIRST] = folded.get(lower.charCodeAt(0)) ?? lower.charCodeAt(0);
    MIXED_SWITCH[c - MIXED_FIRST] = inMixedScript(nfkc.charCodeAt(0)) ? 1 : 0;
  }
  return mixed;
}
const range = (first: number, last: number) => Array.from({ length: last - first + 1 }, (_, k) => first + k);
const inMixedScript = (c: number) => MIXED_SCRIPT_RANGES.some(([first, last]) => c >= first && c <= last);

/**
 * Pictographs (emoji) outside the BMP: Miscellaneous Symbols and Pictographs, Emoticons, Transport
 * and Map Symbols, Supplemental Symbols and Pictographs, Symbols and Pictographs Extended-A. Those
 * that are assigned, not marks and their own NFKC form and lower case are stable: kept as they are
 * (a surrogate pair of code units). Built with FORM.
 */
const PICTOGRAPH_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f900, 0x1f9ff],
  [0x1fa70, 0x1faff],
];
const PICTOGRAPH_BASE = 0x1f300;
const STABLE_PICTOGRAPH = new Uint8Array(0x1fb00 - PICTOGRAPH_BASE);
function markStablePictographs(): void {
  for (const [first, last] of PICTOGRAPH_BLOCKS)
    for (let cp = first; cp <= last; cp++) {
      const ch = String.fromCodePoint(cp);
      if (ch.normalize("NFKC") === ch && ch.toLowerCase() === ch && !NEVER_STABLE.test(ch))
        STABLE_PICTOGRAPH[cp - PICTOGRAPH_BASE] = 1;
    }
}

/** Whether the code unit `c` at `at` is half of a stable pictograph's surrogate pair. */
function inStablePictograph(text: string, at: number, c: number): boolean {
  let high = c;
  let low = c;
  if (c >= 0xd800 && c <= 0xdbff) low = text.charCodeAt(at + 1);
  else if (c >= 0xdc00 && c <= 0xdfff) high = text.charCodeAt(at - 1);
  else return false;
  if (!(high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff)) return false;
  const index = ((high - 0xd800) << 10) + (low - 0xdc00) + 0x10000 - PICTOGRAPH_BASE;
  return index >= 0 && index < STABLE_PICTOGRAPH.length && STABLE_PICTOGRAPH[index] === 1;
}

/** Whether the code point `c` is a stable character (its normalised form is FORM's, or a kept pictograph), for tests. */
export function isStableChar(c: number): boolean {
  FORM ??= formTable();
  if (c > 0xffff) {
    const ch = String.fromCodePoint(c);
    return inStablePictograph(ch, 0, ch.charCodeAt(0));
  }
  return FORM[c] !== 0;
}

const NON_ASCII = 0xff80ff80; // a code unit above 0x7F in either half of a 32-bit word
// Two ASCII code units in a 32-bit word lower-cased at once: a unit's bit 7 is set after adding
// 0x3F when it is at least "A" (0x41) and still clear after adding 0x25 when it is at most "Z"
// (0x5A); that bit shifted down is the 0x20 to add. Units below 0x80 cannot carry into the next.
const FROM_A = 0x003f003f;
const PAST_Z = 0x00250025;
const BIT7 = 0x00800080;
const SIGMA = 0x3a3;
// ASCII lower case by code unit (for units in a word with a non-ASCII one).
const ASCII_LOWER = new Uint16Array(128);
for (let c = 0; c < 128; c++) ASCII_LOWER[c] = c >= 65 && c <= 90 ? c + 32 : c;
// The buffer reused across calls, up to this many characters (longer texts get their own).
const REUSED_LENGTH = 65536;
let unitsShared: Buffer = Buffer.alloc(2 * 8192 + 4);

/** The normalised form of `text` (NFKC, lower case, FOLDED) when it is made of ASCII and stable characters; else undefined. */
export function stableForm(text: string): string | undefined {
  return convert(text, true);
}

/** `text.toLowerCase()` with the FOLDED characters folded, for text in NFKC. */
export function lowerFolded(text: string): string {
  return convert(text, false) ?? slowLowerFolded(text);
}

/**
 * Stable mode: undefined for an unstable character. Otherwise: undefined for sigma and the like
 * (the caller then uses toLowerCase); U+0130 is taken in both. The text's code units are written
 * into a buffer and mapped there, two ASCII ones per step; the buffer read back as a string is
 * one-byte when every unit fits (Node builds the string with V8's NewStringFromTwoByte, which
 * checks).
 */
function convert(text: string, stable: boolean): string | undefined {
  FORM ??= formTable();
  const n = text.length;
  // Whole blocks of 8 code units (4 words), the last one padded with zeros.
  const end = ((n + 7) >>> 3) << 2;
  const units = bufferOf(4 * end, unitsShared);
  if (n <= REUSED_LENGTH) unitsShared = units;
  units.write(text, 0, 2 * n, "utf16le");
  units.fill(0, 2 * n, 4 * end);
  const words = new Int32Array(units.buffer, units.byteOffset, end);
  mixedText = false;
  dotted.length = 0;
  let w = 0;
  while (w < end && ((words[w] | words[w + 1] | words[w + 2] | words[w + 3]) & NON_ASCII) === 0) w += 4;
  // ASCII: V8's own lower-casing (its one-byte path when the string is one-byte).
  if (w === end) return text.toLowerCase();
  for (let k = 0; k < w; k++) words[k] = lowerAscii(words[k]);
  const codes = new Uint16Array(units.buffer, units.byteOffset, 2 * end);
  for (; w < end; w += 4) {
    const a = words[w];
    const b = words[w + 1];
    const c = words[w + 2];
    const d = words[w + 3];
    if (((a | b | c | d) & NON_ASCII) === 0) {
      words[w] = lowerAscii(a);
      words[w + 1] = lowerAscii(b);
      words[w + 2] = lowerAscii(c);
      words[w + 3] = lowerAscii(d);
      continue;
    }
    for (let k = w; k < w + 4; k++) {
      const word = words[k];
      if ((word & NON_ASCII) === 0) words[k] = lowerAscii(word);
      else if (!mapUnit(text, codes, 2 * k, stable) || !mapUnit(text, codes, 2 * k + 1, stable))
        return undefined;
    }
  }
  const form = units.toString("utf16le", 0, 2 * n);
  return dotted.length === 0 ? form : withDots(form);
}

// U+0130 (capital I with dot above) lower-cases to two code units, "i" and U+0307: the buffer gets
// the "i", and these positions get the dot when the string is read back.
const DOTTED_CAPITAL_I = 0x130;
const dotted: number[] = [];
function withDots(form: string): string {
  let out = "";
  let from = 0;
  for (const at of dotted) {
    out += `${form.slice(from, at + 1)}\u0307`;
    from = at + 1;
  }
  return out + form.slice(from);
}

/** Two ASCII code units of a word lower-cased. */
function lowerAscii(word: number): number {
  return word | (((word + FROM_A) & ~(word + PAST_Z) & BIT7) >>> 2);
}

// Whether the text being converted in stable mode has had a letter of MIXED_SCRIPT_RANGES so far.
let mixedText = false;

/** The code unit at `at` mapped in place in `codes`; false to give up. */
function mapUnit(text: string, codes: Uint16Array, at: number, stable: boolean): boolean {
  const c = codes[at];
  if (c < 0x80) {
    codes[at] = ASCII_LOWER[c];
    return true;
  }
  let form = (FORM as Uint16Array)[c];
  // In stable mode a Greek, Cyrillic or IPA letter (after NFKC) turns on the look-alike fold from
  // here on (text before it had no ı or ȷ: without the fold those are not stable).
  if (stable && c - MIXED_FIRST < MIXED_FORM.length && c >= MIXED_FIRST) {
    const mixedForm = MIXED_FORM[c - MIXED_FIRST];
    if (mixedForm !== 0 && (mixedText || MIXED_SWITCH[c - MIXED_FIRST] === 1)) {
      mixedText = true;
      form = mixedForm;
    }
  }
  if (form !== 0) {
    codes[at] = form;
    return true;
  }
  if (inStablePictograph(text, at, c)) return true;
  if (c === DOTTED_CAPITAL_I) {
    codes[at] = 0x69;
    dotted.push(at);
    return true;
  }
  if (stable) return false;
  // Other Latin-1 characters (controls, symbols) have no case.
  return c < 0x100 || lowerOnItsOwn(text, at, c, codes);
}

/**
 * A character outside FORM, lower-cased on its own into `codes` (a surrogate pair as a pair,
 * handled at its first unit); false when that changes its length or depends on its neighbours
 * (sigma), or for a lone surrogate.
 */
function lowerOnItsOwn(text: string, at: number, c: number, codes: Uint16Array): boolean {
  if (c === SIGMA) return false;
  if (c >= 0xdc00 && c <= 0xdfff) {
    const before = text.charCodeAt(at - 1);
    return before >= 0xd800 && before <= 0xdbff; // the second half of a pair: done with the first
  }
  let original = String.fromCharCode(c);
  if (c >= 0xd800 && c <= 0xdbff) {
    const next = text.charCodeAt(at + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    original = text.slice(at, at + 2);
  }
  const lower = original.toLowerCase();
  if (lower.length !== original.length) return false;
  for (let k = 0; k < lower.length; k++) codes[at + k] = lower.charCodeAt(k);
  return true;
}

function bufferOf(bytes: number, shared: Buffer): Buffer {
  return shared.length >= bytes ? shared : Buffer.allocUnsafe(bytes);
}

const SINGLE_QUOTES = /[\u2018\u2019]/g;
const DOUBLE_QUOTES = /[\u201C\u201D]/g;
const DASHES = /[\u2013\u2014]/g;
const NO_BREAK_SPACES = /\u00A0/g;

function slowLowerFolded(text: string): string {
  return text
    .toLowerCase()
    .replace(NO_BREAK_SPACES, " ")
    .replace(SINGLE_QUOTES, "'")
    .replace(DOUBLE_QUOTES, '"')
    .replace(DASHES, "-");
}
