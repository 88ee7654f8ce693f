// stdio framing and the raw-result fast path (a downstream result forwarded as bytes, id rewritten).
import { describe, expect, it } from "vitest";
import { lineSplitter, RawResult, rawResultId } from "../../src/upstream/ndjson.js";

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
