// One linear pass that finds "token runs": maximal runs of characters that make up encoded data
// and credentials ([A-Za-z0-9+/=_.~-]). Ordinary prose has short runs, so the expensive checks
// (base64/hex decoding, token formats) only look at the few long runs a text contains.

const TOKEN_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9+/=_.~-]/.test(ch)) TOKEN_CHAR[c] = 1;
}

/** Shortest run the detectors care about (e.g. `AWS_ACCOUNT_ID`, a 12-char identifier). */
export const RUN_MIN = 12;

export interface Run {
  start: number;
  end: number;
}

/** Runs of at least `minLength` token characters, in order. */
export function tokenRuns(text: string, minLength: number): Run[] {
  const runs: Run[] = [];
  let start = -1;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && TOKEN_CHAR[c] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= minLength) runs.push({ start, end: i });
      start = -1;
    }
  }
  if (start >= 0 && n - start >= minLength) runs.push({ start, end: n });
  return runs;
}
