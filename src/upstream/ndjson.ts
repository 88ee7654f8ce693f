// Newline-delimited JSON framing for stdio transports (MCP stdio: one JSON-RPC message per line).

/**
 * Splits a byte stream into lines and hands each complete non-empty line to `online`.
 * Partial lines are kept as a list of chunks and joined once, when their newline arrives,
 * and only new bytes are searched: a large message costs one copy, not one per chunk.
 */
export function lineSplitter(online: (line: string) => void): (chunk: Buffer) => void {
  return lineBufferSplitter((line) => online(line.toString("utf8")));
}

/** Like lineSplitter but hands over each line's bytes (no trailing CR), undecoded. */
export function lineBufferSplitter(online: (line: Buffer) => void): (chunk: Buffer) => void {
  let parts: Buffer[] = [];
  let partsLength = 0;
  return (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10, 0); nl !== -1; nl = chunk.indexOf(10, start)) {
      let line: Buffer;
      if (partsLength > 0) {
        parts.push(chunk.subarray(start, nl));
        line = Buffer.concat(parts, partsLength + nl - start);
        parts = [];
        partsLength = 0;
      } else line = chunk.subarray(start, nl);
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      if (end > 0) online(end === line.length ? line : line.subarray(0, end));
      start = nl + 1;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      partsLength += chunk.length - start;
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
  const n = line.length;
  if (
    n < 20 ||
    line[n - 1] !== 125 /* } */ ||
    line.compare(RESULT_PREFIX, 0, RESULT_PREFIX.length, 0, RESULT_PREFIX.length) !== 0
  ) {
    return undefined;
  }
  let i = n - 2;
  let id = 0;
  let scale = 1;
  while (i >= 0 && line[i] >= 48 && line[i] <= 57 && scale <= 1e12) {
    id += (line[i] - 48) * scale;
    scale *= 10;
    i--;
  }
  if (scale === 1) return undefined;
  const idStart = i - ID_KEY.length + 1;
  if (idStart < RESULT_PREFIX.length || line.compare(ID_KEY, 0, ID_KEY.length, idStart, i + 1) !== 0)
    return undefined;
  // The byte before "id": must end the previous member.
  if (line[idStart - 1] !== 44 /* , */) return undefined;
  return { id, idStart };
}

/** A downstream result kept as bytes: forwarded with only its id rewritten, never re-serialized. */
export class RawResult {
  constructor(
    readonly bytes: Buffer,
    /** Offset of `"id":` in bytes; everything before it is `{"result":...,` (and other members). */
    readonly idStart: number,
  ) {}

  /** The bytes of this response with the client's id, plus `suffix` (e.g. "\n"). */
  withId(id: string | number, suffix = ""): Buffer {
    const [head, tail] = this.withIdParts(id, suffix);
    return Buffer.concat([head, tail], head.length + tail.length);
  }

  /**
   * withId as two pieces to write one after the other: the original bytes up to the id (not
   * copied) and the new tail. Copying a large result costs more than the extra chunk.
   */
  withIdParts(id: string | number, suffix = ""): [Buffer, Buffer] {
    return [this.bytes.subarray(0, this.idStart), Buffer.from(`"id":${JSON.stringify(id)}}${suffix}`)];
  }

  /** Decodes the result (for consumers that need the object). */
  parse(): Record<string, unknown> {
    return (JSON.parse(this.bytes.toString("utf8")) as { result: Record<string, unknown> }).result;
  }
}
