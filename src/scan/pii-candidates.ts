// Where the PII patterns need to look, found in one pass over a text's code units:
// - digit spans: runs of digits and the separators numbers are written with ([0-9 .()+-]),
//   starting at a digit, "+" or "(", holding at least MIN_SPAN_DIGITS digits. Card, SSN, phone and
//   IPv4 patterns consist of those characters only, so they run on these spans, not the whole text;
// - whether the text holds a digit at all, the IBAN gate (`[A-Z]{2}\d\d` somewhere) and the
//   licence / passport label gate (`licen`, `passport` in any case, or `dl` as a whole word).
// Each is exactly what its regex over the whole text would find (test/scan/candidates.test.ts); one
// pass reads the text two code units at a time, where those regexes read it three times.

/** Fewest digits a digit span needs (an IPv4 address has at least four). */
export const MIN_SPAN_DIGITS = 4;

export interface DigitSpan {
  start: number;
  end: number;
  digits: number;
  dots: number;
}

export interface PiiCandidates {
  /**
   * What `/[0-9+(][0-9 .()+-]{3,}/g` matches, in order, keeping the matches with at least
   * MIN_SPAN_DIGITS digits: from the first "+", "(" or digit of a maximal run of span characters
   * to the run's end.
   */
  spans: DigitSpan[];
  /** `/\d/` matches. */
  hasDigit: boolean;
  /** `/[A-Z]{2}\d\d/` matches (an IBAN's country code and check digits). */
  ibanGate: boolean;
  /** `/[Ll][Ii][Cc][Ee][Nn]|[Pp][Aa][Ss][Ss][Pp][Oo][Rr][Tt]|\b[Dd][Ll]\b/` matches. */
  idLabel: boolean;
}

// Per code unit: 0 no span character, 1 " ", ")", "-", 2 "+", "(" (a span can start there),
// 4 a digit; "." is 1 | DOT.
const OTHER = 1;
const OPENER = 2;
const DIGIT = 4;
const DOT = 8;
const SPAN_CLASS = new Uint8Array(65536);
for (const ch of " )-") SPAN_CLASS[ch.charCodeAt(0)] = OTHER;
for (const ch of "+(") SPAN_CLASS[ch.charCodeAt(0)] = OPENER;
for (let c = 48; c <= 57; c++) SPAN_CLASS[c] = DIGIT;
SPAN_CLASS[46] = OTHER | DOT;

// \w of a non-unicode regex.
const WORD = new Uint8Array(65536);
for (let c = 0; c < 128; c++) if (/\w/.test(String.fromCharCode(c))) WORD[c] = 1;

// What a pair of code units (an aligned 32-bit word of the text) may start, indexed by the low 7
// bits of each unit with 0x20 set (ASCII letters folded to lower case; other units alias onto
// ASCII, which only adds candidates that are then checked on the real units):
// MAY_DIGIT: either unit may be a digit. The label bits say where a label may start, relative to the
// pair's first unit p, given that every occurrence covers one of these pairs: "licen" at an even
// position covers the aligned pair "ce" (start p - 2), at an odd one "ic" (p - 1); "passport" covers
// "po" (p - 4) or "sp" (p - 3); "dl" is the pair itself (p) or starts at its second unit (p + 1).
const MAY_DIGIT = 1;
const LICEN_AT_M2 = 2;
const LICEN_AT_M1 = 4;
const PASSPORT_AT_M4 = 8;
const PASSPORT_AT_M3 = 16;
const DL_AT_0 = 32;
const DL_AT_1 = 64;
const LABELS = 0x7e;
const PAIRS = new Uint8Array(1 << 14);
const pair = (first: number, second: number) => first | (second << 7);
for (let a = 0; a < 128; a++) {
  for (let b = 0; b < 128; b++)
    if ((a >= 48 && a <= 57) || (b >= 48 && b <= 57)) PAIRS[pair(a, b)] |= MAY_DIGIT;
  PAIRS[pair(a, 0x64)] |= DL_AT_1; // "?d"
}
const code = (s: string) => s.charCodeAt(0);
PAIRS[pair(code("c"), code("e"))] |= LICEN_AT_M2;
PAIRS[pair(code("i"), code("c"))] |= LICEN_AT_M1;
PAIRS[pair(code("p"), code("o"))] |= PASSPORT_AT_M4;
PAIRS[pair(code("s"), code("p"))] |= PASSPORT_AT_M3;
PAIRS[pair(code("d"), code("l"))] |= DL_AT_0;

/** `word` (lower-case ASCII) at `at` in any case. */
function wordAt(units: Uint16Array, n: number, at: number, word: string): boolean {
  if (at < 0 || at + word.length > n) return false;
  for (let j = 0; j < word.length; j++) if ((units[at + j] | 0x20) !== word.charCodeAt(j)) return false;
  return true;
}

/** `\b[Dd][Ll]\b` at `at`. */
function dlAt(units: Uint16Array, n: number, at: number): boolean {
  return (
    at + 2 <= n &&
    wordAt(units, n, at, "dl") &&
    (at === 0 || WORD[units[at - 1]] === 0) &&
    (at + 2 === n || WORD[units[at + 2]] === 0)
  );
}

/** Whether a label starts where the pair at `p` says one may (`bits`: its label bits). */
function labelNear(units: Uint16Array, n: number, p: number, bits: number): boolean {
  return (
    ((bits & LICEN_AT_M2) !== 0 && wordAt(units, n, p - 2, "licen")) ||
    ((bits & LICEN_AT_M1) !== 0 && wordAt(units, n, p - 1, "licen")) ||
    ((bits & PASSPORT_AT_M4) !== 0 && wordAt(units, n, p - 4, "passport")) ||
    ((bits & PASSPORT_AT_M3) !== 0 && wordAt(units, n, p - 3, "passport")) ||
    ((bits & DL_AT_0) !== 0 && dlAt(units, n, p)) ||
    ((bits & DL_AT_1) !== 0 && dlAt(units, n, p + 1))
  );
}

const isUpper = (c: number) => c >= 65 && c <= 90;

/**
 * The digit spans and gates of `text`, whose code units are `units` (little-endian, as
 * `codeUnits` writes them, at a 4-byte aligned offset). Reads the text a pair of units at a time
 * (one table lookup for both questions: may this pair hold a digit, may a label start near it);
 * a digit found is the first of its run of span characters, which is then read to its ends and
 * skipped.
 */
export function piiCandidates(text: string, textUnits: Uint16Array): PiiCandidates {
  const n = text.length;
  const units = (textUnits.byteOffset & 3) === 0 ? textUnits : textUnits.slice(0, n); // a copy is aligned
  const pairs = new Int32Array(units.buffer, units.byteOffset, n >> 1);
  const words = pairs.length;
  const spans: DigitSpan[] = [];
  let hasDigit = false;
  let ibanGate = false;
  let idLabel = false;
  let wanted = MAY_DIGIT | LABELS; // label bits are dropped once a label is found
  let resume = 0; // units before this belong to runs already read
  let k = 0;
  for (;;) {
    let bits = 0;
    for (; k < words; k++) {
      const lowered = pairs[k] | 0x00200020;
      bits = PAIRS[(lowered & 0x7f) | ((lowered >>> 9) & 0x3f80)] & wanted;
      if (bits !== 0) break;
    }
    if (k >= words) break;
    let i = 2 * k;
    k++;
    // (Most label candidates are a "d" ending a pair: skip those not followed by an "l" at once.)
    if (
      bits > MAY_DIGIT &&
      (bits !== DL_AT_1 || (i + 2 < n && (units[i + 2] | 0x20) === 0x6c)) &&
      labelNear(units, n, i, bits)
    ) {
      idLabel = true;
      wanted = MAY_DIGIT;
    }
    if ((bits & MAY_DIGIT) === 0) continue;
    if (i < resume || SPAN_CLASS[units[i]] !== DIGIT) {
      i++;
      if (SPAN_CLASS[units[i]] !== DIGIT) continue;
    }
    resume = readRun(units, n, i, spans);
    hasDigit = true;
    // "[A-Z]{2}\d\d": its first digit follows a letter, so it is the first digit of its run.
    if (!ibanGate && i >= 2 && i + 1 < n && isUpper(units[i - 1]) && isUpper(units[i - 2]))
      ibanGate = SPAN_CLASS[units[i + 1]] === DIGIT;
    k = resume >> 1;
  }
  // An odd last unit: a digit there that starts its run has too few digits for a span or the gate.
  if ((n & 1) === 1 && n - 1 >= resume && SPAN_CLASS[units[n - 1]] === DIGIT) hasDigit = true;
  return { spans, hasDigit, ibanGate, idLabel };
}

/**
 * Reads the run of span characters around `i`, its first digit (none before it in the run), adds
 * its span to `spans` when it has enough digits, and returns the run's end.
 */
function readRun(units: Uint16Array, n: number, i: number, spans: DigitSpan[]): number {
  let digits = 1;
  let dots = 0;
  let end = i + 1;
  for (; end < n; end++) {
    const c = SPAN_CLASS[units[end]];
    if (c === 0) break;
    if (c === DIGIT) digits++;
    else if ((c & DOT) !== 0) dots++;
  }
  if (digits < MIN_SPAN_DIGITS) return end;
  // Back to the run's start: the span starts at its first "+", "(" or digit (there are no digits
  // before `i` in the run), with the dots from there.
  let start = i;
  let before = 0;
  for (let j = i - 1; j >= 0; j--) {
    const c = SPAN_CLASS[units[j]];
    if (c === 0) break;
    if ((c & DOT) !== 0) before++;
    else if (c === OPENER) {
      start = j;
      dots += before;
      before = 0;
    }
  }
  spans.push({ start, end, digits, dots });
  return end;
}
