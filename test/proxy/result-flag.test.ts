// The raw result's isError flag against JSON.parse: for every valid response line of the shape
// the byte path keeps (`{"result":...,"id":<n>}`), RawResult.isError equals
// `JSON.parse(line).result?.isError === true`, however the line is chunked, and a nested isError
// (content, structuredContent, another top-level member) never counts. Random lines come from a
// seeded generator so a failure can be replayed from its seed.
import { describe, expect, it } from "vitest";
import { RawResult, rawResultId, rawResultIdParts } from "../../src/upstream/ndjson.js";
import { scanResultIsError } from "../../src/upstream/result-flag.js";
import { type Rng, rng } from "../support/rng.js";

const TRICKY = [
  '"',
  "\\",
  "\\\\",
  '\\"',
  "/",
  "\n",
  "é",
  "😀",
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  '"isError":true',
  "isError",
];
const KEYS = [
  "isError",
  "content",
  "structuredContent",
  "type",
  "text",
  "result",
  "id",
  "_meta",
  "x",
  "é",
  "",
];

function randomString(r: Rng): string {
  let s = "";
  const n = r.int(6);
  for (let i = 0; i < n; i++) s += r.next() < 0.5 ? r.pick(TRICKY) : String.fromCharCode(97 + r.int(26));
  return s;
}

const ws = (r: Rng) => (r.next() < 0.7 ? "" : r.pick([" ", "\t", "  ", " \r\n "]));

/** A JSON value; objects may repeat keys (JSON.parse keeps the last, so must the scan). */
function randomValue(r: Rng, depth: number): string {
  const roll = r.next();
  if (depth > 4 || roll < 0.4) {
    return r.pick([
      () => JSON.stringify(randomString(r)),
      () => r.pick(["0", "-1.5e3", "42", "true", "false", "null"]),
      () => "true",
    ])();
  }
  if (roll < 0.55) {
    const items = Array.from({ length: r.int(4) }, () => ws(r) + randomValue(r, depth + 1) + ws(r));
    return `[${items.join(",")}${items.length ? "" : ws(r)}]`;
  }
  return randomObject(r, depth);
}

function randomObject(r: Rng, depth: number): string {
  const members = Array.from({ length: r.int(5) }, () => {
    const k = r.pick(KEYS);
    const v =
      k === "isError" && r.next() < 0.6
        ? r.pick(["true", "false", '"true"', "1"])
        : randomValue(r, depth + 1);
    return `${ws(r)}${JSON.stringify(k)}${ws(r)}:${ws(r)}${v}${ws(r)}`;
  });
  return `{${members.join(",")}${members.length ? "" : ws(r)}}`;
}

/** A response line as SDKs write it (result first, id last), sometimes with jsonrpc between. */
function randomResponse(r: Rng): string {
  const result = r.next() < 0.9 ? randomObject(r, 0) : randomValue(r, 1);
  const middle = r.pick(["", `"jsonrpc":"2.0",`, `${ws(r)}"x":${randomValue(r, 2)}${ws(r)},`]);
  return `{"result":${ws(r)}${result}${ws(r)},${middle}"id":${1 + r.int(1e6)}}`;
}

const expected = (line: string) =>
  (JSON.parse(line) as { result: { isError?: unknown } | null }).result?.isError === true;

/** The line as RawResult holds it: whole, or cut into chunks like the stdio splitter hands them over. */
function rawResult(line: string, r: Rng): RawResult {
  const bytes = Buffer.from(line);
  if (r.next() < 0.5 || bytes.length < 24) {
    const hit = rawResultId(bytes);
    if (!hit) throw new Error(`not a raw result line: ${line}`);
    return new RawResult(bytes, hit.idStart);
  }
  const cuts = [...new Set(Array.from({ length: 1 + r.int(3) }, () => 1 + r.int(bytes.length - 1)))].sort(
    (a, b) => a - b,
  );
  const parts: Buffer[] = [];
  let at = 0;
  for (const c of cuts) {
    parts.push(bytes.subarray(at, c));
    at = c;
  }
  parts.push(bytes.subarray(at));
  const hit = rawResultIdParts(parts);
  // The first chunk is too short for the prefix check, or the id straddles a cut: not kept raw.
  if (!hit) return rawResult(line, { ...r, next: () => 0 });
  return new RawResult(parts, hit.idStart);
}

describe("RawResult.isError (the top-level result's flag, read from the bytes)", () => {
  it("agrees with JSON.parse on 10,000 random response lines, whole or in chunks", () => {
    for (let seed = 1; seed <= 10_000; seed++) {
      const r = rng(seed);
      const line = randomResponse(r);
      const raw = rawResult(line, r);
      expect(raw.isError, `seed ${seed}: ${line}`).toBe(expected(line));
    }
  });

  it("reads the top-level flag and ignores nested ones", () => {
    const cases: Array<[string, boolean]> = [
      ['{"result":{"content":[],"isError":true},"jsonrpc":"2.0","id":1}', true],
      ['{"result":{"isError":true,"content":[{"type":"text","text":"x"}]},"id":12}', true],
      ['{"result":{"content":[{"type":"text","text":"x","isError":true}]},"id":1}', false],
      ['{"result":{"content":[],"structuredContent":{"isError":true}},"jsonrpc":"2.0","id":1}', false],
      ['{"result":{"content":[],"isError":false},"id":1}', false],
      ['{"result":{"content":[],"isError":"true"},"id":1}', false],
      ['{"result":{"isError":true,"isError":false},"id":1}', false],
      ['{"result":{"isError":false,"isError":true},"id":1}', true],
      ['{"result":{"text":"\\"isError\\":true"},"id":1}', false],
      ['{"result":{"text":"a\\\\","isError":true},"id":1}', true],
      ['{"result":{},"isError":true,"id":1}', false],
      ['{"result":[{"isError":true}],"id":1}', false],
      ['{"result":null,"id":1}', false],
      ['{"result": { "isError" : true } , "jsonrpc" : "2.0","id":1}', true],
    ];
    for (const [line, want] of cases) {
      expect(expected(line), line).toBe(want);
      expect(rawResult(line, rng(0)).isError, line).toBe(want);
    }
  });

  it("leaves what it cannot follow to JSON.parse (escaped keys, a repeated result)", () => {
    const unsure = [
      '{"result":{"\\u0069sError":true},"id":1}',
      '{"result":{"isError":false},"result":{"isError":true},"id":1}',
    ];
    for (const line of unsure) {
      const hit = rawResultId(Buffer.from(line));
      expect(hit, line).toBeDefined();
      expect(scanResultIsError(Buffer.from(line), hit?.idStart as number), line).toBeUndefined();
      expect(new RawResult(Buffer.from(line), hit?.idStart as number).isError, line).toBe(true);
    }
  });

  it("counts a line that does not parse as no error result", () => {
    const line = Buffer.from('{"result":{"isError":tru},"id":1}');
    const hit = rawResultId(line);
    expect(new RawResult(line, hit?.idStart as number).isError).toBe(false);
    const broken = Buffer.from('{"result":{"isError":true,"x":"unterminated},"id":1}');
    const b = rawResultId(broken);
    expect(new RawResult(broken, b?.idStart as number).isError).toBe(false);
  });

  it("skips a 256 KB text without looking inside it", () => {
    const text = `"isError":true, { [ ${'é€😀 \\"q\\" \\\\ '.repeat(20_000)}`;
    for (const flag of [true, false]) {
      const line = JSON.stringify({
        result: { content: [{ type: "text", text }], isError: flag },
        jsonrpc: "2.0",
        id: 5,
      });
      expect(rawResult(line, rng(3)).isError).toBe(flag);
    }
  });
});
