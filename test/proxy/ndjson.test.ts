// stdio framing and the raw-result fast path (a downstream result forwarded as bytes, id rewritten).
import { describe, expect, it } from "vitest";
import {
  lineBufferSplitter,
  lineSplitter,
  RawResult,
  rawResultId,
  rawResultIdParts,
} from "../../src/upstream/ndjson.js";

describe("lineSplitter", () => {
  it("reassembles lines split across arbitrary chunks, strips CR and skips blank lines", () => {
    const big = JSON.stringify({ text: "é".repeat(70_000) });
    const input = Buffer.from(`${big}\n{"a":1}\r\n\n{"b":2}\n{"partial"`);
    for (const size of [1, 3, 7, 4096, 65_536, input.length]) {
      const got: string[] = [];
      const split = lineSplitter((l) => got.push(l));
      for (let i = 0; i < input.length; i += size) split(input.subarray(i, i + size));
      expect(got).toEqual([big, '{"a":1}', '{"b":2}']);
    }
  });
});

describe("rawResultId", () => {
  const line = (s: string) => Buffer.from(s);

  it("recognises the SDK's result serialization and rewrites only the id", () => {
    const text = JSON.stringify({
      result: { content: [{ type: "text", text: '"id":9}' }], id: 3 },
      jsonrpc: "2.0",
      id: 42,
    });
    const hit = rawResultId(line(text));
    expect(hit?.id).toBe(42);
    const raw = new RawResult(line(text), hit?.idStart as number);
    const rewritten = JSON.parse(raw.withId("client-7").toString());
    expect(rewritten).toEqual({
      result: { content: [{ type: "text", text: '"id":9}' }], id: 3 },
      jsonrpc: "2.0",
      id: "client-7",
    });
    expect(raw.parse()).toEqual({ content: [{ type: "text", text: '"id":9}' }], id: 3 });
    expect(raw.withId(5, "\n").toString().endsWith('"id":5}\n')).toBe(true);
  });

  it("declines everything else (errors, other key orders, string ids, nested ids)", () => {
    expect(rawResultId(line('{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}'))).toBeUndefined();
    expect(rawResultId(line('{"jsonrpc":"2.0","id":1,"result":{"a":1}}'))).toBeUndefined();
    expect(rawResultId(line('{"result":{"a":1},"jsonrpc":"2.0","id":"s1"}'))).toBeUndefined();
    expect(rawResultId(line('{"result":{"a":1,"jsonrpc":"2.0","id":1}}'))).toBeUndefined();
    expect(rawResultId(line('{"result":{"x":"id":1}'))).toBeUndefined();
  });
});

describe("RawResult.asciiWithId", () => {
  const raw = (text: string) => {
    const bytes = Buffer.from(text);
    return new RawResult(bytes, rawResultId(bytes)?.idStart as number);
  };

  it("gives the same bytes as withId, as one string, for an ASCII result and id", () => {
    const r = raw('{"result":{"content":[{"type":"text","text":"hi \\u00e9"}]},"jsonrpc":"2.0","id":17}');
    for (const id of [3, 12345678901, "abc", 'q"\\'] as const)
      expect(Buffer.from(r.asciiWithId(id) as string, "latin1")).toEqual(r.withId(id));
    expect(r.asciiWithId(4, "\n")).toBe(r.withId(4, "\n").toString("latin1"));
  });

  it("declines what a latin1 string would not carry byte for byte, and large or chunked results", () => {
    expect(raw('{"result":{"text":"é"},"jsonrpc":"2.0","id":1}').asciiWithId(1)).toBeUndefined();
    expect(raw('{"result":{"text":"e"},"jsonrpc":"2.0","id":1}').asciiWithId("é")).toBeUndefined();
    expect(raw('{"result":{"text":"e"},"jsonrpc":"2.0","id":1}').asciiWithId("😀")).toBeUndefined();
    const big = `{"result":{"text":"${"x".repeat(20_000)}"},"jsonrpc":"2.0","id":1}`;
    expect(raw(big).asciiWithId(1)).toBeUndefined();
    const line = Buffer.from('{"result":{"text":"e"},"jsonrpc":"2.0","id":1}');
    const parts = [line.subarray(0, 10), line.subarray(10)];
    const hit = rawResultIdParts(parts);
    expect(new RawResult(parts, hit?.idStart as number).asciiWithId(1)).toBeUndefined();
  });
});

describe("results that arrive in several chunks", () => {
  const result = { content: [{ type: "text", text: "é".repeat(100_000) }] };
  const line = Buffer.from(`${JSON.stringify({ result, jsonrpc: "2.0", id: 77 })}\r\n`);

  it("are offered as their chunks and forwarded with a new id, never joined", () => {
    for (const size of [65_536, 50_000, 100_001]) {
      const offered: RawResult[] = [];
      const joined: Buffer[] = [];
      const split = lineBufferSplitter(
        (l) => joined.push(l),
        (parts) => {
          const hit = rawResultIdParts(parts);
          if (!hit) return false;
          expect(hit.id).toBe(77);
          offered.push(new RawResult(parts, hit.idStart));
          return true;
        },
      );
      for (let i = 0; i < line.length; i += size) split(line.subarray(i, i + size));
      expect(joined).toHaveLength(0);
      expect(offered).toHaveLength(1);
      const pieces = offered[0].pieces("c-1", "\n");
      expect(pieces.length).toBeGreaterThan(2);
      expect(JSON.parse(Buffer.concat(pieces).toString())).toEqual({ result, jsonrpc: "2.0", id: "c-1" });
      expect(offered[0].parse()).toEqual(result);
      const [head, tail] = offered[0].withIdParts(5);
      expect(JSON.parse(Buffer.concat([head, tail]).toString()).id).toBe(5);
    }
  });

  it("are joined when the id is split across chunks, or when nobody takes them", () => {
    const cut = line.length - 6; // inside `"id":77}\r\n`
    for (const take of [true, false]) {
      const joined: string[] = [];
      const split = lineBufferSplitter(
        (l) => joined.push(l.toString()),
        (parts) => take && rawResultIdParts(parts) !== undefined,
      );
      split(line.subarray(0, cut));
      split(line.subarray(cut));
      expect(joined).toEqual([line.toString().trimEnd()]);
    }
  });
});
