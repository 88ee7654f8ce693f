// Where the costly checks need to look in a raw string:
// - token runs: maximal runs of characters that make up encoded data and credentials
//   ([A-Za-z0-9+/=_.~-]). Prose has short runs, so base64/hex decoding and token formats only
//   look at the few long runs a text contains;
// - digit spans (found by pii-candidates.ts, for PII).

import { type DigitSpan, piiCandidates } from "./pii-candidates.js";

// 1 for token characters, indexed by UTF-16 code unit (no range check in the hot loop).
const TOKEN = new Uint8Array(65536);
for (let c = 0; c < 128; c++) if (/[A-Za-z0-9+/=_.~-]/.test(String.fromCharCode(c))) TOKEN[c] = 1;

/** Shortest run the detectors care about (e.g. `AWS_ACCOUNT_ID`, a 12-char identifier). */
export const RUN_MIN = 12;

export interface Run {
  start: number;
  end: number;
}

export interface Candidates {
  /** Token runs of at least RUN_MIN characters, in order. */
  runs: Run[];
  /** Digit spans (see pii-candidates.ts), in order. */
  digitSpans: DigitSpan[];
}

/**
 * What the scanner already computed for a text, handed to the detectors as a separate argument
 * (copying the detector options into a new object per string costs more than the lookups save).
 */
export interface TextFacts {
  /** The text's code units (`codeUnits(text)`). */
  units?: Uint16Array;
  runs?: Run[];
}

/** Token runs (at least RUN_MIN long) and digit spans of `text`. */
export function findCandidates(text: string): Candidates {
  const units = codeUnits(text);
  return { runs: tokenRuns(text, RUN_MIN, units), digitSpans: piiCandidates(text, units).spans };
}

/**
 * The UTF-16 code units of `text` in a typed array: reading one costs less than `charCodeAt`,
 * which checks the string's representation on every call (slow on slices and two-byte strings).
 * One native write. With `reuse`, its buffer holds them when large enough (the caller must be done
 * with the previous text's units). `zeros` 0 units follow the text (a scan can read them as its end).
 */
export function codeUnits(text: string, reuse?: { buffer: Buffer }, zeros = 0): Uint16Array {
  const n = text.length;
  const bytes = 2 * (n + zeros);
  let buffer = reuse?.buffer;
  if (buffer === undefined || buffer.length < bytes) {
    buffer = Buffer.allocUnsafe(bytes);
    if (reuse !== undefined && n <= 65536) reuse.buffer = buffer;
  }
  buffer.write(text, 0, 2 * n, "utf16le");
  const units = new Uint16Array(buffer.buffer, buffer.byteOffset, n + zeros);
  if (zeros > 0) units.fill(0, n);
  return units;
}

/**
 * Runs of at least `minLength` token characters, in order. Skips ahead instead of reading every
 * character: a window of `minLength` characters ending at `last` holds a run only if all of them
 * are token characters; otherwise no run that long starts before the window's last non-token
 * character, the next place to look from. Prose (short words) is mostly skipped over.
 * For windows of 8 or more, the text is searched from its start and from a non-token character
 * near its middle at the same time (two independent chains of reads keep the processor busy).
 */
export function tokenRuns(text: string, minLength: number, units = codeUnits(text)): Run[] {
  const n = text.length;
  const reach = Math.max(1, minLength) - 1;
  if (reach < SURE) return tokenRunsFrom(units, 0, n, reach, []);
  // The second half starts after a non-token character, so no run crosses into it.
  let middle = n >> 1;
  while (middle < n && TOKEN[units[middle]] === 1) middle++;
  const runs: Run[] = [];
  const later: Run[] = [];
  let a = 0;
  let b = middle + 1;
  while (a + reach < middle && b + reach < n) {
    a = nextWindow(units, a, reach, n, runs);
    b = nextWindow(units, b, reach, n, later);
  }
  while (a + reach < middle) a = nextWindow(units, a, reach, n, runs);
  while (b + reach < n) b = nextWindow(units, b, reach, n, later);
  for (let i = 0; i < later.length; i++) runs.push(later[i]);
  return runs;
}

// Characters at the end of a window read without a branch (nextWindow), for windows this long or longer.
const SURE = 7;

/**
 * One step of tokenRuns from `from` (a run start, or a position after a non-token character,
 * or 0), whose window ends at `from + reach`: pushes the run when the window is all token
 * characters, and returns where to look next. The last SURE characters of the window are read
 * without branches (how many of them end the window as token characters): whether the window's
 * last character is a token one is a coin toss in prose, which a branch would mispredict.
 */
function nextWindow(units: Uint16Array, from: number, reach: number, n: number, runs: Run[]): number {
  const last = from + reach;
  let token = TOKEN[units[last]];
  let tail = token;
  token &= TOKEN[units[last - 1]];
  tail += token;
  token &= TOKEN[units[last - 2]];
  tail += token;
  token &= TOKEN[units[last - 3]];
  tail += token;
  token &= TOKEN[units[last - 4]];
  tail += token;
  token &= TOKEN[units[last - 5]];
  tail += token;
  token &= TOKEN[units[last - 6]];
  tail += token;
  // `tail` token characters end the window; the one before them is not a token character.
  if (tail < SURE) return last + 1 - tail;
  let j = last - SURE;
  while (j >= from && TOKEN[units[j]] === 1) j--;
  if (j >= from) return j + 1;
  return pushRun(units, from, last, n, runs);
}

/** Pushes the run around the window from..last (all token characters); returns the position after its end + 1. */
function pushRun(units: Uint16Array, from: number, last: number, n: number, runs: Run[]): number {
  let start = from;
  while (start > 0 && TOKEN[units[start - 1]] === 1) start--;
  let end = last + 1;
  while (end < n && TOKEN[units[end]] === 1) end++;
  runs.push({ start, end });
  return end + 1;
}

/** tokenRuns for short windows, one step at a time from `from` up to `n`. */
function tokenRunsFrom(units: Uint16Array, from: number, n: number, reach: number, runs: Run[]): Run[] {
  while (from + reach < n) {
    const last = from + reach;
    if (TOKEN[units[last]] === 0) {
      from = last + 1;
      continue;
    }
    let j = last - 1;
    while (j >= from && TOKEN[units[j]] === 1) j--;
    if (j >= from) {
      from = j + 1;
      continue;
    }
    from = pushRun(units, from, last, n, runs);
  }
  return runs;
}
