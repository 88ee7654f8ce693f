// Reads one flag of a downstream answer kept as bytes (RawResult): whether the top-level
// `result` object has `"isError": true`. The audit and metrics after hooks need only that, so
// with it the answer can still be forwarded as bytes instead of parsed and re-serialized.
//
// The scan follows the structure of the line `{"result":<value>,...,"id":<n>}` and skips every
// nested value, so an `isError` inside `content` or `structuredContent` never counts; strings are
// skipped with Buffer.indexOf (native), so a large text result costs little. It does not validate
// the JSON (the bytes are forwarded as they are either way). Anything it cannot follow (a second
// top-level `result`, a key with escapes, a broken structure) returns undefined and the caller
// decides with JSON.parse, so the answer always equals `JSON.parse(line).result?.isError === true`
// for valid JSON.
import { skipJsonSpace } from "./envelope.js";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const RESULT_VALUE_START = '{"result":'.length;

const ISERROR = Buffer.from('"isError"');
const RESULT = Buffer.from('"result"');

class Unsure extends Error {}
const UNSURE = new Unsure();

/**
 * `isError === true` of the top-level result in `line` (the whole response line, starting with
 * `{"result":`); `idStart` is where the top-level `"id":` member starts. Undefined when unsure.
 */
export function scanResultIsError(line: Buffer, idStart: number): boolean | undefined {
  try {
    const s = new Skipper(line, idStart - 1);
    let i = s.ws(RESULT_VALUE_START);
    let isError = false;
    if (line[i] === 0x7b /* { */) {
      // The result object's own members: only their keys are looked at.
      i = s.ws(i + 1);
      if (line[i] !== 0x7d /* } */) {
        for (;;) {
          const key = s.key(i);
          i = s.ws(key.end);
          if (line[i] !== 0x3a /* : */) throw UNSURE;
          i = s.ws(i + 1);
          const valueEnd = s.value(i);
          // JSON.parse keeps the last of repeated keys: so does this.
          if (key.is === ISERROR) isError = isTrue(line, i, valueEnd);
          i = s.ws(valueEnd);
          if (line[i] === 0x2c /* , */) {
            i = s.ws(i + 1);
            continue;
          }
          if (line[i] === 0x7d) break;
          throw UNSURE;
        }
      }
      i++;
    } else i = s.value(i);
    // Other top-level members up to `,"id":` (e.g. "jsonrpc"); a repeated "result" would win.
    for (;;) {
      i = s.ws(i);
      if (line[i] !== 0x2c) throw UNSURE;
      if (i === idStart - 1) return isError;
      i = s.ws(i + 1);
      const key = s.key(i);
      if (key.is === RESULT) throw UNSURE;
      i = s.ws(key.end);
      if (line[i] !== 0x3a) throw UNSURE;
      i = s.value(s.ws(i + 1));
    }
  } catch (err) {
    if (err === UNSURE) return undefined;
    throw err;
  }
}

function isTrue(b: Buffer, start: number, end: number): boolean {
  return (
    end - start === 4 &&
    b[start] === 0x74 &&
    b[start + 1] === 0x72 &&
    b[start + 2] === 0x75 &&
    b[start + 3] === 0x65
  );
}

/** Skips JSON values in b[0, end) without building them. */
class Skipper {
  constructor(
    private readonly b: Buffer,
    private readonly end: number,
  ) {}

  ws(i: number): number {
    return skipJsonSpace(this.b, i);
  }

  /** An object key at i: where it ends, and whether it is "isError" or "result" (exact bytes). */
  key(i: number): { end: number; is?: Buffer } {
    if (this.b[i] !== QUOTE) throw UNSURE;
    const end = this.string(i);
    const b = this.b;
    // A key with escapes could still decode to one of ours: leave that to JSON.parse.
    for (let k = i + 1; k < end; k++) if (b[k] === BACKSLASH) throw UNSURE;
    const len = end - i;
    if (len === ISERROR.length && b.compare(ISERROR, 0, len, i, end) === 0) return { end, is: ISERROR };
    if (len === RESULT.length && b.compare(RESULT, 0, len, i, end) === 0) return { end, is: RESULT };
    return { end };
  }

  /** The string whose opening quote is at i: the index after its closing quote. */
  string(i: number): number {
    const b = this.b;
    let j = i + 1;
    for (;;) {
      const q = b.indexOf(QUOTE, j);
      if (q === -1 || q >= this.end) throw UNSURE;
      // Escaped when preceded by an odd number of backslashes.
      let k = q - 1;
      while (b[k] === BACKSLASH) k--;
      if ((q - 1 - k) % 2 === 0) return q + 1;
      j = q + 1;
    }
  }

  /** The value at i (no leading whitespace): the index after it. */
  value(i: number): number {
    const b = this.b;
    const c = b[i];
    if (c === QUOTE) return this.string(i);
    if (c !== 0x7b && c !== 0x5b /* [ */) {
      // A number or literal: runs to the next delimiter.
      const start = i;
      while (i < this.end) {
        const d = b[i];
        if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09)
          break;
        if (d === QUOTE || d === 0x7b || d === 0x5b || d === 0x3a) throw UNSURE;
        i++;
      }
      if (i === start) throw UNSURE;
      return i;
    }
    // An object or array: brackets are counted outside strings; strings are skipped whole.
    const stack: number[] = [];
    for (;;) {
      if (i >= this.end) throw UNSURE;
      const d = b[i];
      if (d === QUOTE) {
        i = this.string(i);
        continue;
      }
      if (d === 0x7b) stack.push(0x7d);
      else if (d === 0x5b) stack.push(0x5d);
      else if (d === 0x7d || d === 0x5d) {
        if (stack.pop() !== d) throw UNSURE;
        if (stack.length === 0) return i + 1;
      }
      i++;
    }
  }
}
