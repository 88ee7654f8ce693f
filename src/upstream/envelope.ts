// A validating scan of one JSON-RPC line that finds the envelope without building the message:
// the top-level "jsonrpc", "id", "method" and "params", and inside params "name" and
// "_meta"."progressToken", each with the byte span of its value. The proxy uses it to forward a
// request as bytes with only those values replaced (see RawRequest), so a 256 KB argument is
// never decoded, parsed, re-serialized or re-encoded.
//
// The scan checks the whole line against the JSON grammar (RFC 8259): a line it accepts is one
// JSON.parse accepts. Anything it is unsure about (invalid JSON, a repeated envelope key, very
// deep nesting, a value of an unexpected type) makes it return undefined, and the caller takes
// the parsing path, which produces the usual errors.

/** A JSON value's bytes in the line: [start, end). */
export interface Span {
  start: number;
  end: number;
}

export interface RequestEnvelope {
  jsonrpc?: string;
  id?: string | number;
  idSpan?: Span;
  method?: string;
  /** params is present and is an object. */
  hasParams: boolean;
  /** params.name, when it is a string. */
  name?: string;
  nameSpan?: Span;
  /** params._meta.progressToken, when it is a string or number. */
  progressToken?: string | number;
  progressTokenSpan?: Span;
}

/** Deeper nesting than this is left to JSON.parse (the parsing path). */
const MAX_DEPTH = 512;

// Where an object sits, so that only the envelope's own keys are recorded.
const TOP = 0;
const PARAMS = 1;
const META = 2;
const OTHER = 3;

class Unsure extends Error {}
const UNSURE = new Unsure();

/**
 * Scans `line` (one NDJSON line, without its newline). Returns undefined unless the line is a
 * valid JSON object whose envelope keys appear once each. With `onlyMethod`, also returns
 * undefined as soon as a different top-level method is seen (saves scanning the rest).
 */
export function scanEnvelope(line: Buffer, onlyMethod?: string): RequestEnvelope | undefined {
  const s = new Scanner(line, onlyMethod);
  try {
    let i = s.ws(0);
    if (line[i] !== 0x7b /* { */) return undefined;
    i = s.object(i, TOP, 0);
    if (s.ws(i) !== line.length) return undefined;
    return s.env;
  } catch (err) {
    if (err === UNSURE) return undefined;
    throw err;
  }
}

class Scanner {
  readonly env: RequestEnvelope = { hasParams: false };
  /** Envelope keys already seen, as bit flags (a repeated one makes the scan unsure). */
  private seen = 0;

  constructor(
    private readonly b: Buffer,
    private readonly onlyMethod: string | undefined,
  ) {}

  ws(i: number): number {
    return skipJsonSpace(this.b, i);
  }

  /** Parses the value at i (after whitespace); returns the index after it. */
  value(i: number, where: number, depth: number): number {
    const c = this.b[i];
    if (c === 0x22 /* " */) return this.string(i);
    if (c === 0x7b /* { */) return this.object(i, where, depth + 1);
    if (c === 0x5b /* [ */) return this.array(i, depth + 1);
    if (c === 0x74 /* t */) return this.literal(i, TRUE);
    if (c === 0x66 /* f */) return this.literal(i, FALSE);
    if (c === 0x6e /* n */) return this.literal(i, NULL);
    return this.number(i);
  }

  object(i: number, where: number, depth: number): number {
    if (depth > MAX_DEPTH) throw UNSURE;
    const b = this.b;
    i = this.ws(i + 1);
    if (b[i] === 0x7d /* } */) return i + 1;
    for (;;) {
      if (b[i] !== 0x22) throw UNSURE;
      const keyStart = i;
      i = this.string(i);
      const key = where === OTHER ? -1 : this.envelopeKey(where, keyStart, i);
      i = this.ws(i);
      if (b[i] !== 0x3a /* : */) throw UNSURE;
      i = this.ws(i + 1);
      const valueStart = i;
      const child =
        key === K_PARAMS && b[i] === 0x7b ? PARAMS : key === K_META && b[i] === 0x7b ? META : OTHER;
      i = this.value(i, child, depth);
      if (key !== -1) this.record(key, valueStart, i);
      i = this.ws(i);
      if (b[i] === 0x2c /* , */) {
        i = this.ws(i + 1);
        continue;
      }
      if (b[i] === 0x7d) return i + 1;
      throw UNSURE;
    }
  }

  array(i: number, depth: number): number {
    if (depth > MAX_DEPTH) throw UNSURE;
    const b = this.b;
    i = this.ws(i + 1);
    if (b[i] === 0x5d /* ] */) return i + 1;
    for (;;) {
      i = this.ws(this.value(i, OTHER, depth));
      if (b[i] === 0x2c) {
        i = this.ws(i + 1);
        continue;
      }
      if (b[i] === 0x5d) return i + 1;
      throw UNSURE;
    }
  }

  /** A string starting at the quote at i; returns the index after its closing quote. */
  string(i: number): number {
    const b = this.b;
    const n = b.length;
    i++;
    while (i < n) {
      const c = b[i];
      if (c === 0x22) return i + 1;
      if (c === 0x5c /* \ */) {
        const e = b[i + 1];
        if (e === 0x75 /* u */) {
          if (!(isHex(b[i + 2]) && isHex(b[i + 3]) && isHex(b[i + 4]) && isHex(b[i + 5]))) throw UNSURE;
          i += 6;
        } else if (
          e === 0x22 ||
          e === 0x5c ||
          e === 0x2f ||
          e === 0x62 ||
          e === 0x66 ||
          e === 0x6e ||
          e === 0x72 ||
          e === 0x74
        ) {
          i += 2;
        } else throw UNSURE;
      } else if (c < 0x20) throw UNSURE;
      else i++;
    }
    throw UNSURE;
  }

  number(i: number): number {
    const b = this.b;
    const start = i;
    if (b[i] === 0x2d /* - */) i++;
    if (b[i] === 0x30 /* 0 */) i++;
    else if (b[i] >= 0x31 && b[i] <= 0x39) while (isDigit(b[i])) i++;
    else throw UNSURE;
    if (b[i] === 0x2e /* . */) {
      i++;
      if (!isDigit(b[i])) throw UNSURE;
      while (isDigit(b[i])) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45 /* e E */) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit(b[i])) throw UNSURE;
      while (isDigit(b[i])) i++;
    }
    if (i === start) throw UNSURE;
    return i;
  }

  literal(i: number, word: readonly number[]): number {
    const b = this.b;
    for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) throw UNSURE;
    return i + word.length;
  }

  /** Which envelope key (K_*) the key string [start, end) is at this level, or -1. */
  private envelopeKey(where: number, start: number, end: number): number {
    const keys = where === TOP ? TOP_KEYS : where === PARAMS ? PARAMS_KEYS : META_KEYS;
    for (const e of keys) {
      if (end - start === e.quoted.length && equalBytes(this.b, start, e.quoted)) return e.k;
    }
    // A key written with escapes ("\u0069d") still names the member JSON.parse will see.
    for (let i = start + 1; i < end - 1; i++) {
      if (this.b[i] === 0x5c) {
        const name = JSON.parse(this.text(start, end)) as string;
        for (const e of keys) if (name === e.name) return e.k;
        return -1;
      }
    }
    return -1;
  }

  private record(key: number, start: number, end: number): void {
    if (this.seen & (1 << key)) throw UNSURE;
    this.seen |= 1 << key;
    const env = this.env;
    const first = this.b[start];
    switch (key) {
      case K_JSONRPC:
        if (first === 0x22) env.jsonrpc = this.decodeString(start, end);
        return;
      case K_ID:
        if (first === 0x22) env.id = this.decodeString(start, end);
        else if (first === 0x2d || isDigit(first)) env.id = this.decodeNumber(start, end);
        else return; // null/other ids: the parsing path answers them.
        env.idSpan = { start, end };
        return;
      case K_METHOD:
        if (first !== 0x22) throw UNSURE;
        env.method = this.decodeString(start, end);
        if (this.onlyMethod !== undefined && env.method !== this.onlyMethod) throw UNSURE;
        return;
      case K_PARAMS:
        env.hasParams = first === 0x7b;
        return;
      case K_NAME:
        if (first !== 0x22) return;
        env.name = this.decodeString(start, end);
        env.nameSpan = { start, end };
        return;
      case K_META:
        return;
      case K_PROGRESS:
        if (first === 0x22) env.progressToken = this.decodeString(start, end);
        else if (first === 0x2d || isDigit(first)) env.progressToken = this.decodeNumber(start, end);
        else throw UNSURE;
        env.progressTokenSpan = { start, end };
        return;
    }
  }

  private text(start: number, end: number): string {
    return this.b.toString("utf8", start, end);
  }

  private decodeString(start: number, end: number): string {
    // The usual values come back as constants, without decoding.
    for (const known of KNOWN_VALUES) {
      if (end - start === known.quoted.length && equalBytes(this.b, start, known.quoted)) return known.name;
    }
    for (let i = start + 1; i < end - 1; i++) {
      if (this.b[i] === 0x5c) return JSON.parse(this.text(start, end)) as string;
    }
    return this.text(start + 1, end - 1);
  }

  /** A JSON number; plain non-negative integers (the usual ids) without making a string. */
  private decodeNumber(start: number, end: number): number {
    if (end - start <= 15) {
      let v = 0;
      let i = start;
      for (; i < end && isDigit(this.b[i]); i++) v = v * 10 + (this.b[i] - 0x30);
      if (i === end && (this.b[start] !== 0x30 || end - start === 1)) return v;
    }
    return Number(this.text(start, end));
  }
}

const K_JSONRPC = 0;
const K_ID = 1;
const K_METHOD = 2;
const K_PARAMS = 3;
const K_NAME = 4;
const K_META = 5;
const K_PROGRESS = 6;
interface KeyEntry {
  /** The key as it appears unescaped on the wire, quotes included. */
  quoted: Buffer;
  name: string;
  k: number;
}
const key = (name: string, k: number): KeyEntry => ({ quoted: Buffer.from(`"${name}"`), name, k });
const TOP_KEYS = [
  key("jsonrpc", K_JSONRPC),
  key("id", K_ID),
  key("method", K_METHOD),
  key("params", K_PARAMS),
];
const PARAMS_KEYS = [key("name", K_NAME), key("_meta", K_META)];
const META_KEYS = [key("progressToken", K_PROGRESS)];
const KNOWN_VALUES = [key("2.0", -1), key("tools/call", -1)];

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** The first index at or after `i` that is not JSON whitespace (space, LF, CR, tab). */
export function skipJsonSpace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function equalBytes(b: Uint8Array, at: number, bytes: Uint8Array): boolean {
  for (let k = 0; k < bytes.length; k++) if (b[at + k] !== bytes[k]) return false;
  return true;
}
