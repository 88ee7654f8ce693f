// One linear pass over a raw string that finds where the costly checks need to look:
// - token runs: maximal runs of characters that make up encoded data and credentials
//   ([A-Za-z0-9+/=_.~-]). Prose has short runs, so base64/hex decoding and token formats only
//   look at the few long runs a text contains;
// - digit spans: runs of digits and the separators numbers are written with ([0-9 .()+-]),
//   starting at a digit, "+" or "(", holding at least MIN_SPAN_DIGITS digits. Card, SSN, phone and IPv4 patterns
//   consist of those characters only, so they run on these spans instead of the whole text.

// Bit 1: token character; bit 2: digit-span character; bit 4: digit; bit 8: can start a span
// (the patterns that use spans start with a digit, "+" or "(").
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9+/=_.~-]/.test(ch)) CLASS[c] |= 1;
  if (/[0-9 .()+-]/.test(ch)) CLASS[c] |= 2;
  if (/[0-9]/.test(ch)) CLASS[c] |= 4;
  if (/[0-9+(]/.test(ch)) CLASS[c] |= 8;
}

/** Shortest run the detectors care about (e.g. `AWS_ACCOUNT_ID`, a 12-char identifier). */
export const RUN_MIN = 12;
/** Fewest digits a digit span needs (an IPv4 address has at least four). */
export const MIN_SPAN_DIGITS = 4;

export interface Run {
  start: number;
  end: number;
}

export interface DigitSpan extends Run {
  digits: number;
  dots: number;
}

export interface Candidates {
  /** Token runs of at least RUN_MIN characters, in order. */
  runs: Run[];
  /** Digit spans with at least MIN_SPAN_DIGITS digits, in order. */
  digitSpans: DigitSpan[];
}

/**
 * What the scanner already computed for a text, handed to the detectors as a separate argument
 * (copying the detector options into a new object per string costs more than the lookups save).
 */
export interface TextFacts {
  runs?: Run[];
  digitSpans?: DigitSpan[];
  /** `text.toLowerCase()`. */
  lower?: string;
}

/** Token runs and digit spans of `text` in one pass. */
export function findCandidates(text: string): Candidates {
  const runs: Run[] = [];
  const digitSpans: DigitSpan[] = [];
  let runStart = -1;
  let spanStart = -1;
  let digits = 0;
  let dots = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const cls = c < 128 ? CLASS[c] : 0;
    if ((cls & 1) !== 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart >= RUN_MIN) runs.push({ start: runStart, end: i });
      runStart = -1;
    }
    if (spanStart >= 0) {
      if ((cls & 4) !== 0) digits++;
      else if (c === 46) dots++;
      else if ((cls & 2) === 0) {
        if (digits >= MIN_SPAN_DIGITS) digitSpans.push({ start: spanStart, end: i, digits, dots });
        spanStart = -1;
      }
    } else if ((cls & 8) !== 0) {
      spanStart = i;
      digits = (cls & 4) !== 0 ? 1 : 0;
      dots = 0;
    }
  }
  if (runStart >= 0 && n - runStart >= RUN_MIN) runs.push({ start: runStart, end: n });
  if (spanStart >= 0 && digits >= MIN_SPAN_DIGITS)
    digitSpans.push({ start: spanStart, end: n, digits, dots });
  return { runs, digitSpans };
}

/** Runs of at least `minLength` token characters, in order. */
export function tokenRuns(text: string, minLength: number): Run[] {
  const runs: Run[] = [];
  let start = -1;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && (CLASS[c] & 1) !== 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= minLength) runs.push({ start, end: i });
      start = -1;
    }
  }
  if (start >= 0 && n - start >= minLength) runs.push({ start, end: n });
  return runs;
}
