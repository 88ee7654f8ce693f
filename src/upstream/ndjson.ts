// Newline-delimited JSON framing for stdio transports (MCP stdio: one JSON-RPC message per line).
import { isAscii } from "node:buffer";
import type { RequestEnvelope, Span } from "./envelope.js";
import type { JsonRpcRequest } from "./jsonrpc.js";
import { scanResultIsError } from "./result-flag.js";

/**
 * Splits a byte stream into lines and hands each complete non-empty line to `online`.
 * Partial lines are kept as a list of chunks and joined once, when their newline arrives,
 * and only new bytes are searched: a large message costs one copy, not one per chunk.
 */
export function lineSplitter(online: (line: string) => void): (chunk: Buffer) => void {
  return lineBufferSplitter((line) => online(line.toString("utf8")));
}

/** A cap on line length for lineBufferSplitter (a downstream's answers: see maxAnswerBytes). */
export interface LineLimit {
  /** The longest line accepted, in bytes between newlines (a CR before the newline counts). */
  readonly maxBytes: number;
  /**
   * A longer line was dropped, up to its newline (never held whole): its length, and the id of
   * the response it was when that shows at its start or end (a request or notification: none).
   */
  onoversize(bytes: number, responseId: number | undefined): void;
}

/** What an oversize line keeps of itself to find its id: its first and last bytes. */
const HEAD_KEEP = 256;
const TAIL_KEEP = 64;
const EMPTY: Buffer = Buffer.alloc(0);

function keepHead(parts: Buffer[]): Buffer {
  if (parts[0].length >= HEAD_KEEP) return Buffer.from(parts[0].subarray(0, HEAD_KEEP));
  let n = 0;
  let i = 0;
  while (i < parts.length && n < HEAD_KEEP) n += parts[i++].length;
  return Buffer.concat(parts.slice(0, i), Math.min(n, HEAD_KEEP));
}

function keepTail(tail: Buffer, more: Buffer): Buffer {
  if (more.length >= TAIL_KEEP) return Buffer.from(more.subarray(more.length - TAIL_KEEP));
  const joined = Buffer.concat([tail, more]);
  return joined.length > TAIL_KEEP ? joined.subarray(joined.length - TAIL_KEEP) : joined;
}

/** `{"jsonrpc":"2.0","id":N,"result"|"error"...`: a response with its id first (e.g. Python SDK order). */
const ID_FIRST =
  /^\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(\d{1,15})\s*,\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"(?:result|error)"/;
const RESPONSE_FIRST = /^\{\s*"(?:result|error)"\s*:/;

/** The id of a response from its first and last bytes (the TS SDK writes it last), if it is one. */
export function oversizeResponseId(head: Buffer, tail: Buffer): number | undefined {
  const start = head.toString("latin1");
  const first = ID_FIRST.exec(start);
  if (first) return Number(first[1]);
  if (!RESPONSE_FIRST.test(start)) return undefined;
  const t = tail.length && tail[tail.length - 1] === 13 ? tail.subarray(0, tail.length - 1) : tail;
  return idAtEnd(t)?.id;
}

/**
 * Like lineSplitter but hands over each line's bytes (no trailing CR), undecoded. With `onparts`,
 * a line that arrived in several chunks is first offered as those chunks (the last one without
 * its CR, at least 2 bytes long); when onparts takes it (returns true) the line is never joined.
 * With `limit`, a line longer than limit.maxBytes is dropped as soon as it is known to be too
 * long (its chunks are let go, the rest is skipped up to its newline) and reported instead.
 */
export function lineBufferSplitter(
  online: (line: Buffer) => void,
  onparts?: (parts: Buffer[]) => boolean,
  limit?: LineLimit,
): (chunk: Buffer) => void {
  let parts: Buffer[] = [];
  let partsLength = 0;
  const max = limit?.maxBytes ?? Number.POSITIVE_INFINITY;
  /** Skipping the rest of an oversize line: its length so far and its first/last bytes. */
  let skipping = false;
  let skipped = 0;
  let head: Buffer = EMPTY;
  let tail: Buffer = EMPTY;
  const oversize = (size: number) => {
    (limit as LineLimit).onoversize(size, oversizeResponseId(head, tail));
    head = tail = EMPTY;
  };
  return (chunk: Buffer) => {
    let start = 0;
    if (skipping) {
      const nl = chunk.indexOf(10, 0);
      const piece = nl === -1 ? chunk : chunk.subarray(0, nl);
      skipped += piece.length;
      tail = keepTail(tail, piece);
      if (nl === -1) return;
      skipping = false;
      oversize(skipped);
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      let line: Buffer | undefined;
      if (partsLength + nl - start > max) {
        // A whole line in hand, but too long.
        const piece = chunk.subarray(start, nl);
        head = keepHead(partsLength > 0 ? [...parts, piece] : [piece]);
        tail = keepTail(partsLength > 0 ? parts[parts.length - 1] : EMPTY, piece);
        const size = partsLength + piece.length;
        parts = [];
        partsLength = 0;
        start = nl + 1;
        oversize(size);
        continue;
      }
      if (partsLength > 0) {
        const lastEnd = nl > start && chunk[nl - 1] === 13 ? nl - 1 : nl;
        const taken = lastEnd - start >= 2 && onparts?.([...parts, chunk.subarray(start, lastEnd)]);
        if (!taken) {
          parts.push(chunk.subarray(start, nl));
          line = Buffer.concat(parts, partsLength + nl - start);
        }
        parts = [];
        partsLength = 0;
      } else line = chunk.subarray(start, nl);
      if (line) {
        const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
        if (end > 0) online(end === line.length ? line : line.subarray(0, end));
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      partsLength += chunk.length - start;
      if (partsLength > max) {
        // Too long whatever follows: let its chunks go now and skip to its newline.
        skipping = true;
        skipped = partsLength;
        head = keepHead(parts);
        tail = keepTail(parts.length > 1 ? parts[parts.length - 2] : EMPTY, parts[parts.length - 1]);
        parts = [];
        partsLength = 0;
      }
    }
  };
}

export function serialize(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

const RESULT_PREFIX = Buffer.from('{"result":');
const ID_KEY = Buffer.from('"id":');

/**
 * A success response serialized the way the MCP SDKs do, `{"result":...,"id":<integer>}`:
 * returns the integer id and where `"id":` starts, without decoding the line. Anything else
 * (errors, other key orders, string ids) returns undefined and takes the parsing path.
 */
export function rawResultId(line: Buffer): { id: number; idStart: number } | undefined {
  if (line.length < 20 || !hasResultPrefix(line)) return undefined;
  const hit = idAtEnd(line);
  return hit && hit.idStart >= RESULT_PREFIX.length ? hit : undefined;
}

/** rawResultId for a line held as chunks: `idStart` is then an offset in the last chunk. */
export function rawResultIdParts(parts: Buffer[]): { id: number; idStart: number } | undefined {
  if (parts.length < 2 || parts[0].length < RESULT_PREFIX.length || !hasResultPrefix(parts[0]))
    return undefined;
  const hit = idAtEnd(parts[parts.length - 1]);
  return hit && hit.idStart >= 1 ? hit : undefined;
}

function hasResultPrefix(b: Buffer): boolean {
  return b.compare(RESULT_PREFIX, 0, RESULT_PREFIX.length, 0, RESULT_PREFIX.length) === 0;
}

/** `,"id":<integer>}` at the end of b: the id and the offset of `"id":`. */
function idAtEnd(b: Buffer): { id: number; idStart: number } | undefined {
  const n = b.length;
  if (n < 8 || b[n - 1] !== 125 /* } */) return undefined;
  let i = n - 2;
  let id = 0;
  let scale = 1;
  while (i >= 0 && b[i] >= 48 && b[i] <= 57 && scale <= 1e12) {
    id += (b[i] - 48) * scale;
    scale *= 10;
    i--;
  }
  if (scale === 1) return undefined;
  const idStart = i - ID_KEY.length + 1;
  if (idStart < 1 || b.compare(ID_KEY, 0, ID_KEY.length, idStart, i + 1) !== 0) return undefined;
  // The byte before "id": must end the previous member.
  if (b[idStart - 1] !== 44 /* , */) return undefined;
  return { id, idStart };
}

/** Results up to this size may be turned into a string (RawResult.asciiWithId). */
const ASCII_TEXT_MAX = 16 * 1024;
const NON_ASCII = /[\u0080-\uffff]/;

/** A downstream result kept as bytes: forwarded with only its id rewritten, never re-serialized. */
export class RawResult {
  constructor(
    /** The line, or the chunks it arrived in (never joined: a large result is not copied). */
    readonly bytes: Buffer | Buffer[],
    /** Offset of `"id":` in the line (in its last chunk); everything before it is `{"result":...,`. */
    readonly idStart: number,
  ) {}

  /** The bytes of this response with the client's id, plus `suffix` (e.g. "\n"). */
  withId(id: string | number, suffix = ""): Buffer {
    return Buffer.concat(this.pieces(id, suffix));
  }

  /** withId as two pieces: everything up to the id and the new tail. */
  withIdParts(id: string | number, suffix = ""): [Buffer, Buffer] {
    const pieces = this.pieces(id, suffix);
    const tail = pieces.pop() as Buffer;
    return [pieces.length === 1 ? pieces[0] : Buffer.concat(pieces), tail];
  }

  /**
   * withId as one string, when that is exact: the line is one chunk of ASCII bytes (so decoding
   * it as latin1 keeps it byte for byte) under 16 KB, and the new id is ASCII too. Otherwise
   * undefined (use withIdParts or pieces). The HTTP front door writes such a string with its head
   * in one chunk; the stdio one writes one string instead of two pieces to join.
   */
  asciiWithId(id: string | number, suffix = ""): string | undefined {
    const b = this.bytes;
    if (Array.isArray(b) || b.length > ASCII_TEXT_MAX || !isAscii(b)) return undefined;
    const tail = `"id":${JSON.stringify(id)}}${suffix}`;
    if (typeof id !== "number" && NON_ASCII.test(tail)) return undefined;
    return b.toString("latin1", 0, this.idStart) + tail;
  }

  /**
   * withId as pieces to write one after the other: the original bytes up to the id (not
   * copied) and the new tail. Copying a large result costs more than the extra chunks.
   */
  pieces(id: string | number, suffix = ""): Buffer[] {
    const tail = Buffer.from(`"id":${JSON.stringify(id)}}${suffix}`);
    if (!Array.isArray(this.bytes)) return [this.bytes.subarray(0, this.idStart), tail];
    const out = this.bytes.slice(0, -1);
    out.push((this.bytes[this.bytes.length - 1] as Buffer).subarray(0, this.idStart), tail);
    return out;
  }

  private flag?: boolean;

  /**
   * The result's top-level `isError === true`, read from the bytes (see result-flag.ts) without
   * parsing them: what the audit and metrics after hooks need (StageReads.result "isError").
   */
  get isError(): boolean {
    if (this.flag === undefined) {
      const last = Array.isArray(this.bytes) ? (this.bytes[this.bytes.length - 1] as Buffer) : this.bytes;
      // A result that arrived in chunks is joined for the scan (the chunks are still what is sent).
      const line = Array.isArray(this.bytes) ? Buffer.concat(this.bytes) : this.bytes;
      const idStart = line.length - (last.length - this.idStart);
      this.flag = scanResultIsError(line, idStart) ?? this.parsedIsError();
    }
    return this.flag;
  }

  /** The scan was unsure: JSON.parse decides (a line that does not parse is no error result). */
  private parsedIsError(): boolean {
    try {
      return (this.parse() as { isError?: unknown } | null)?.isError === true;
    } catch {
      return false;
    }
  }

  /** Decodes the result (for consumers that need the object). */
  parse(): Record<string, unknown> {
    const bytes = Array.isArray(this.bytes) ? Buffer.concat(this.bytes) : this.bytes;
    return (JSON.parse(bytes.toString("utf8")) as { result: Record<string, unknown> }).result;
  }
}

/** The envelope of a tools/call request that may be forwarded as bytes (see scanEnvelope). */
export interface RawCallEnvelope {
  id: string | number;
  idSpan: Span;
  name: string;
  nameSpan: Span;
  progressToken?: string | number;
  progressTokenSpan?: Span;
}

/** Narrows a scanned envelope to a tools/call request the byte path can forward. */
export function rawCallEnvelope(env: RequestEnvelope | undefined): RawCallEnvelope | undefined {
  if (
    env?.jsonrpc !== "2.0" ||
    env.method !== "tools/call" ||
    env.idSpan === undefined ||
    env.id === undefined ||
    env.nameSpan === undefined ||
    env.name === undefined
  )
    return undefined;
  return env as RawCallEnvelope;
}

/** Below this many bytes a rewritten request is built as one string (cheapest to write). */
const RAW_STRING_MAX = 8 * 1024;

/**
 * A client's tools/call request kept as the bytes of its line. It is forwarded with only its id,
 * params.name and progress token replaced, unless something asks for the parsed message first
 * (a stage reading ctx.params): from then on the parsed object is what gets forwarded.
 */
export class RawRequest {
  private parsed?: JsonRpcRequest;

  constructor(
    readonly bytes: Buffer,
    readonly envelope: RawCallEnvelope,
  ) {}

  get id(): string | number {
    return this.envelope.id;
  }

  /** True once message() was called: the bytes may no longer say what is to be forwarded. */
  get isParsed(): boolean {
    return this.parsed !== undefined;
  }

  /** The whole request, parsed once (the scanner already checked that it is valid JSON). */
  message(): JsonRpcRequest {
    this.parsed ??= JSON.parse(this.bytes.toString("utf8")) as JsonRpcRequest;
    return this.parsed;
  }

  /**
   * The line for the downstream, newline included: `id`, `params.name` and (when given)
   * `params._meta.progressToken` replaced, everything else byte for byte. Small requests come
   * back as one string; large ones as pieces of the original bytes, never copied.
   */
  rewrite(id: number, name: string, progressToken?: string): string | Buffer[] {
    const e = this.envelope;
    // The two or three edits in byte order, in variables (no list of edits per call).
    let a = e.idSpan;
    let aText = String(id);
    let b = e.nameSpan;
    let bText = JSON.stringify(name);
    if (b.start < a.start) [a, aText, b, bText] = [b, bText, a, aText];
    let c = progressToken === undefined ? undefined : e.progressTokenSpan;
    let cText = c ? JSON.stringify(progressToken) : "";
    if (c && c.start < b.start) {
      [b, bText, c, cText] = [c, cText, b, bText];
      if (b.start < a.start) [a, aText, b, bText] = [b, bText, a, aText];
    }
    const bytes = this.bytes;
    if (bytes.length < RAW_STRING_MAX) {
      // An ASCII line (the usual) is decoded once and sliced: its byte offsets are its
      // character offsets. Otherwise each piece is decoded on its own, as UTF-8.
      const text = isAscii(bytes) ? bytes.toString("latin1") : undefined;
      const head = `${piece(bytes, text, 0, a.start)}${aText}${piece(bytes, text, a.end, b.start)}${bText}`;
      return c
        ? `${head}${piece(bytes, text, b.end, c.start)}${cText}${piece(bytes, text, c.end, bytes.length)}\n`
        : `${head}${piece(bytes, text, b.end, bytes.length)}\n`;
    }
    const out: Buffer[] = [bytes.subarray(0, a.start), Buffer.from(aText), bytes.subarray(a.end, b.start)];
    out.push(Buffer.from(bText));
    if (c) out.push(bytes.subarray(b.end, c.start), Buffer.from(cText), bytes.subarray(c.end));
    else out.push(bytes.subarray(b.end));
    out.push(NEWLINE);
    return out;
  }
}

/** bytes[from, to) as a string: a slice of `text` (the whole line, when it is ASCII), else decoded as UTF-8. */
function piece(bytes: Buffer, text: string | undefined, from: number, to: number): string {
  return text === undefined ? bytes.toString("utf8", from, to) : text.slice(from, to);
}

const NEWLINE = Buffer.from("\n");
