// Lower-casing for the normalised text, with typographic quotes, dashes and no-break spaces folded to
// ASCII in the same pass: `lowerFolded(t)` equals `t.toLowerCase()` with those characters replaced.
//
// Why not `toLowerCase` itself: V8 lower-cases a one-byte (Latin-1) string with a fast table loop,
// but any other string through ICU, about six times slower per character, and one en dash or
// bullet makes a whole text two-byte. Here the text's code units are written, truncated to bytes,
// into a buffer; the characters the one-byte pass cannot take (outside Latin-1, the no-break space,
// a few Latin-1 symbols) are found with one native search and either folded in place (quotes,
// dashes, no-break spaces: the result stays one-byte) or remembered with their own lower case; the
// bytes are lower-cased as a one-byte string and the remembered characters are put back (a
// two-byte copy, only when there are any). The same search tells whether the text is made of
// stable characters only, which is all the normalisation of most text needs to know.
//
// Lower case is per character except for Greek capital sigma (final or not, by its neighbours),
// and only U+0130 lower-cases to two code units: text with either goes to `toLowerCase`.

/**
 * Non-ASCII characters that no normalisation step changes: NFKC leaves each alone and none combines
 * with its neighbours (no combining marks, no Hangul jamo), none is invisible, a tag, Greek,
 * Cyrillic, IPA or a quote, and each lower-cases to one code unit. Latin-1 and Latin Extended-A
 * letters, punctuation (bullets, daggers, low quotes), CJK punctuation, kana, CJK ideographs and
 * Hangul syllables: what most non-ASCII prose is made of. Inclusive ranges of code units.
 */
export const STABLE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x00a1, 0x00a7],
  [0x00bf, 0x012f],
  [0x0134, 0x013e],
  [0x0141, 0x0148],
  [0x014a, 0x017e],
  [0x201a, 0x201b],
  [0x201e, 0x2023],
  [0x3001, 0x3029],
  [0x3041, 0x3096],
  [0x30a0, 0x30fe],
  [0x4e00, 0x9fff],
  [0xac00, 0xd7a3],
];

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

// What to do with a code unit the search finds, by code unit: 0 (not a stable character:
// `lowerFolded(text, true)` gives up; otherwise lower-cased on its own), KEEP (stable, no case),
// LOWER (stable, its lower case is LOWER_UNIT[c]), or the ASCII code it folds to (>= 32).
const KEEP = 1;
const LOWER = 2;
const ACTION = new Uint8Array(65536);
const LOWER_UNIT = new Uint16Array(0x180);
for (const [first, last] of STABLE_RANGES)
  for (let c = first; c <= last; c++) {
    // Only Latin Extended-A has case among the stable characters above Latin-1.
    const lower = c < 0x180 ? String.fromCharCode(c).toLowerCase() : String.fromCharCode(c);
    if (lower.length !== 1 || (c >= 0x180 && String.fromCharCode(c).toLowerCase() !== lower))
      throw new Error(`stable character U+${c.toString(16)} does not lower-case to one code unit`);
    const unit = lower.charCodeAt(0);
    if (unit === c) ACTION[c] = KEEP;
    else {
      ACTION[c] = LOWER;
      LOWER_UNIT[c] = unit;
    }
  }
for (const [c, ascii] of FOLDED) ACTION[c] = ascii.charCodeAt(0);

// The characters the one-byte lower-casing cannot take as they are: outside Latin-1, and the Latin-1
// characters that are not stable (C1 controls, the no-break space, NFKC's ª ² ½ ¨ …). The stable
// Latin-1 characters (the Latin-1 part of STABLE_RANGES) and ASCII are lower-cased in the one-byte pass.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the range is "ASCII"
const SPECIAL = /[^\x00-\x7F\xA1-\xA7\xBF-\xFF]/g;
const SIGMA = 0x3a3;

// Buffers reused across calls, up to this many characters (longer texts get their own).
const REUSED_LENGTH = 65536;
let narrowShared: Buffer = Buffer.alloc(8192);
let wideShared: Buffer = Buffer.alloc(2 * 8192);
// Positions and lower-cased code units of the characters put back after the one-byte pass.
const putBackAt: number[] = [];
const putBackUnit: number[] = [];

/** `text.toLowerCase()` with the FOLDED characters folded; undefined when `stableOnly` and `text` holds an unstable character. */
export function lowerFolded(text: string, stableOnly: boolean): string | undefined {
  SPECIAL.lastIndex = 0;
  // ASCII and stable Latin-1 only: V8's own one-byte lower-casing.
  if (!SPECIAL.test(text)) return text.toLowerCase();
  const n = text.length;
  const narrow = bufferOf(n, narrowShared);
  if (n <= REUSED_LENGTH) narrowShared = narrow;
  narrow.write(text, 0, n, "latin1");
  putBackAt.length = 0;
  putBackUnit.length = 0;
  do {
    const at = SPECIAL.lastIndex - 1;
    const c = text.charCodeAt(at);
    const action = ACTION[c];
    if (action >= 32) narrow[at] = action;
    else if (action === KEEP) putBack(at, c);
    else if (action === LOWER) putBack(at, LOWER_UNIT[c]);
    else if (stableOnly) return undefined;
    // Latin-1 characters lower-case in the one-byte pass like the others.
    else if (c >= 0x100 && !putBackLowered(text, at, c)) return slowLowerFolded(text);
  } while (SPECIAL.test(text));
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

function bufferOf(bytes: number, shared: Buffer): Buffer {
  return shared.length >= bytes ? shared : Buffer.allocUnsafe(bytes);
}

function putBack(at: number, unit: number): void {
  putBackAt.push(at);
  putBackUnit.push(unit);
}

/**
 * Any other character at `at`: its own lower case (a surrogate pair's as a pair, which moves the
 * search past the pair); false when that is not the same number of code units or depends on the
 * neighbours (sigma), or for a lone surrogate.
 */
function putBackLowered(text: string, at: number, c: number): boolean {
  if (c === SIGMA) return false;
  let original = String.fromCharCode(c);
  if (c >= 0xd800 && c <= 0xdfff) {
    const next = text.charCodeAt(at + 1);
    if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
    original = text.slice(at, at + 2);
    SPECIAL.lastIndex = at + 2;
  }
  const lower = original.toLowerCase();
  if (lower.length !== original.length) return false;
  for (let k = 0; k < lower.length; k++) putBack(at + k, lower.charCodeAt(k));
  return true;
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
