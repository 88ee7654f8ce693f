// The last step of normalisation, lower-casing (with typographic quotes, dashes and no-break spaces
// folded to ASCII), and for most text the only one: `stableForm` gives the normalised form of text
// made of stable characters (below) or undefined, `lowerFolded` lower-cases text already in NFKC.
//
// Why not `toLowerCase` itself: V8 lower-cases a one-byte (Latin-1) string with a fast table loop,
// but any other string through ICU, about six times slower per character, and one en dash or
// bullet makes a whole text two-byte. Here the text's code units are written into a buffer and
// read two at a time; the few that are not ASCII are looked up in a table (FORM) and either written
// into a one-byte copy of the text (a quote's ASCII form, a Latin-1 letter's lower case: the copy
// is lower-cased by V8's one-byte path) or put back afterwards into a two-byte copy (a CJK
// ideograph, a bullet). Text with many such characters (CJK prose) is mapped unit by unit instead.
//
// Lower case is per character except for Greek capital sigma (final or not, by its neighbours),
// and U+0130 lower-cases to two code units: `lowerFolded` leaves text with either to `toLowerCase`.

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
  return form;
}

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
const SIGMA = 0x3a3;
// Buffers reused across calls, up to this many characters (longer texts get their own).
const REUSED_LENGTH = 65536;
let unitsShared: Buffer = Buffer.alloc(2 * 8192 + 4);
let narrowShared: Buffer = Buffer.alloc(8192);
let wideShared: Buffer = Buffer.alloc(2 * 8192);
// Code units put back into the two-byte copy: positions and units. Past this many (a fraction of the
// text), mapping every unit costs less.
const putBackAt: number[] = [];
const putBackUnit: number[] = [];
const denseFrom = (n: number) => 32 + (n >>> 4);

/** The normalised form of `text` (NFKC, lower case, FOLDED) when it is made of ASCII and stable characters; else undefined. */
export function stableForm(text: string): string | undefined {
  return convert(text, true);
}

/** `text.toLowerCase()` with the FOLDED characters folded, for text in NFKC. */
export function lowerFolded(text: string): string {
  return convert(text, false) ?? slowLowerFolded(text);
}

/** Stable mode: undefined for an unstable character. Otherwise: undefined for sigma and the like (the caller then uses toLowerCase). */
function convert(text: string, stable: boolean): string | undefined {
  FORM ??= formTable();
  const n = text.length;
  const units = bufferOf(2 * n + 4, unitsShared);
  if (n <= REUSED_LENGTH) unitsShared = units;
  units.write(text, 0, 2 * n, "utf16le");
  units[2 * n] = 0;
  units[2 * n + 1] = 0;
  const words = new Uint32Array(units.buffer, units.byteOffset, (n + 1) >>> 1);
  const count = words.length;
  let w = 0;
  while (w < count && (words[w] & NON_ASCII) === 0) w++;
  // ASCII: V8's own lower-casing (its one-byte path when the string is one-byte).
  if (w === count) return text.toLowerCase();
  const narrow = bufferOf(n, narrowShared);
  if (n <= REUSED_LENGTH) narrowShared = narrow;
  narrow.write(text, 0, n, "latin1"); // each code unit truncated to its low byte
  putBackAt.length = 0;
  putBackUnit.length = 0;
  const dense = denseFrom(n);
  for (; w < count; w++) {
    const word = words[w];
    if ((word & NON_ASCII) === 0) continue;
    if (
      ((word & 0xff80) !== 0 && !special(text, narrow, 2 * w, word & 0xffff, stable)) ||
      ((word & 0xff800000) !== 0 && !special(text, narrow, 2 * w + 1, word >>> 16, stable))
    )
      return undefined;
    if (putBackAt.length > dense) return mapUnits(text, units, stable);
  }
  const lowered = narrow.toString("latin1", 0, n).toLowerCase();
  if (putBackAt.length === 0) return lowered;
  const wide = bufferOf(2 * n, wideShared);
  if (n <= REUSED_LENGTH) wideShared = wide;
  wide.write(lowered, 0, 2 * n, "utf16le");
  for (let k = 0; k < putBackAt.length; k++) {
    const unit = putBackUnit[k];
    wide[2 * putBackAt[k]] = unit & 0xff;
    wide[2 * putBackAt[k] + 1] = unit >>> 8;
  }
  return wide.toString("utf16le", 0, 2 * n);
}

/** The non-ASCII code unit `c` at `at`: written into `narrow` or put back; false to give up. */
function special(text: string, narrow: Buffer, at: number, c: number, stable: boolean): boolean {
  const form = (FORM as Uint16Array)[c];
  if (form !== 0) {
    if (form <= 0xff) narrow[at] = form;
    else putBack(at, form);
    return true;
  }
  if (inStablePictograph(text, at, c)) {
    putBack(at, c);
    return true;
  }
  if (stable) return false;
  // Other Latin-1 characters (controls, symbols) have no case: the one-byte pass keeps them.
  return c < 0x100 || lowerOnItsOwn(text, at, c, putBack);
}

function putBack(at: number, unit: number): void {
  putBackAt.push(at);
  putBackUnit.push(unit);
}

/**
 * A character outside FORM, lower-cased on its own and handed to `put` unit by unit (a surrogate
 * pair as a pair, handled at its first unit); false when that changes its length or depends on
 * its neighbours (sigma), or for a lone surrogate.
 */
function lowerOnItsOwn(
  text: string,
  at: number,
  c: number,
  put: (at: number, unit: number) => void,
): boolean {
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
  for (let k = 0; k < lower.length; k++) put(at + k, lower.charCodeAt(k));
  return true;
}

// ASCII lower case by code unit.
const ASCII_LOWER = new Uint16Array(128);
for (let c = 0; c < 128; c++) ASCII_LOWER[c] = c >= 65 && c <= 90 ? c + 32 : c;

/** Text with many characters to put back (CJK prose): every code unit mapped in `units`. */
function mapUnits(text: string, units: Buffer, stable: boolean): string | undefined {
  const form = FORM as Uint16Array;
  const n = text.length;
  const codes = new Uint16Array(units.buffer, units.byteOffset, n);
  let ok = true;
  const put = (at: number, unit: number) => {
    codes[at] = unit;
  };
  for (let i = 0; i < n && ok; i++) {
    const c = codes[i];
    if (c < 0x80) codes[i] = ASCII_LOWER[c];
    else if (form[c] !== 0) codes[i] = form[c];
    else if (inStablePictograph(text, i, c)) continue;
    else if (stable) return undefined;
    else if (c >= 0x100) ok = lowerOnItsOwn(text, i, c, put);
  }
  return ok ? units.toString("utf16le", 0, 2 * n) : undefined;
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
