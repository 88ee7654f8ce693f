// The envelope scanner against JSON.parse: every line it accepts is valid JSON whose envelope
// values (and the bytes of their spans) are exactly what JSON.parse sees; every valid line it is
// given with unique envelope keys is accepted. Random lines come from a seeded generator, and
// are then mutated byte by byte to probe the grammar checks.
import { describe, expect, it } from "vitest";
import { type RequestEnvelope, scanEnvelope } from "../../src/upstream/envelope.js";
import { type Rng, rng } from "../support/rng.js";

const TRICKY_CHARS = [
  '"',
  "\\",
  "/",
  "\n",
  "\t",
  "\u0000",
  "\u001f",
  "é",
  "€",
  "😀",
  "\u2028",
  "{",
  "}",
  ",",
  ":",
  "[",
  "]",
];
const KEY_POOL = [
  "id",
  "method",
  "params",
  "name",
  "_meta",
  "progressToken",
  "jsonrpc",
  "arguments",
  "x",
  "é",
  "",
];

function randomString(r: Rng): string {
  let s = "";
  const n = r.int(8);
  for (let i = 0; i < n; i++)
    s += r.next() < 0.4 ? r.pick(TRICKY_CHARS) : String.fromCharCode(97 + r.int(26));
  return s;
}

/** A JSON string literal for s, with random (valid) escaping choices. */
function quote(r: Rng, s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"' || ch === "\\" || code < 0x20) out += JSON.stringify(ch).slice(1, -1);
    else if (code < 0x10000 && r.next() < 0.15) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else if (ch === "/" && r.next() < 0.5) out += "\\/";
    else out += ch;
  }
  return `${out}"`;
}

const ws = (r: Rng) => (r.next() < 0.7 ? "" : r.pick([" ", "\t", "  ", " \r ", "\t "]));

function randomNumber(r: Rng): string {
  return r.pick(["0", "-0", "7", "-12", "3.25", "1e3", "-2.5E-2", "123456789", "0.5e+1", String(r.int(1e9))]);
}

/** Random JSON text; objects have unique keys (so JSON.parse and the scanner agree on members). */
function randomValue(r: Rng, depth: number, where: "top" | "params" | "meta" | "other"): string {
  const roll = r.next();
  if (depth > 4 || roll < 0.35) {
    return r.pick([
      () => quote(r, randomString(r)),
      () => randomNumber(r),
      () => "true",
      () => "false",
      () => "null",
    ])();
  }
  if (roll < 0.5) {
    const items = Array.from({ length: r.int(4) }, () => ws(r) + randomValue(r, depth + 1, "other") + ws(r));
    return `[${items.join(",")}${items.length ? "" : ws(r)}]`;
  }
  return randomObject(r, depth, where);
}

function randomObject(r: Rng, depth: number, where: "top" | "params" | "meta" | "other"): string {
  const keys = [...new Set(Array.from({ length: r.int(6) }, () => r.pick(KEY_POOL)))];
  const members = keys.map((k) => {
    const child =
      where === "top" && k === "params" ? "params" : where === "params" && k === "_meta" ? "meta" : "other";
    return `${ws(r)}${quote(r, k)}${ws(r)}:${ws(r)}${randomValue(r, depth + 1, child)}${ws(r)}`;
  });
  return `{${members.join(",")}${members.length ? "" : ws(r)}}`;
}

/** A request-shaped line: the envelope keys in random order, values of random types now and then. */
function randomRequest(r: Rng): string {
  const meta =
    r.next() < 0.5
      ? `{${quote(r, "progressToken")}:${r.next() < 0.7 ? quote(r, randomString(r)) : randomNumber(r)},"x":${randomValue(r, 3, "other")}}`
      : randomValue(r, 3, "other");
  const params = `{${[
    `${quote(r, "name")}:${r.next() < 0.9 ? quote(r, randomString(r)) : randomValue(r, 3, "other")}`,
    `"arguments":${randomValue(r, 1, "other")}`,
    `${quote(r, "_meta")}:${meta}`,
  ]
    .sort(() => r.next() - 0.5)
    .join(`,${ws(r)}`)}}`;
  const members = [
    `"jsonrpc":"2.0"`,
    `${quote(r, "id")}:${r.next() < 0.5 ? randomNumber(r) : quote(r, randomString(r))}`,
    `${quote(r, "method")}:${quote(r, r.pick(["tools/call", "tools/list", randomString(r)]))}`,
    `${quote(r, "params")}:${r.next() < 0.9 ? params : randomValue(r, 2, "other")}`,
  ].sort(() => r.next() - 0.5);
  return `${ws(r)}{${members.join(`,${ws(r)}`)}}${ws(r)}`;
}

function parsedEnvelope(v: unknown): Partial<RequestEnvelope> {
  const o = v as Record<string, unknown>;
  const out: Partial<RequestEnvelope> = {};
  if (typeof o.jsonrpc === "string") out.jsonrpc = o.jsonrpc;
  if (typeof o.id === "string" || typeof o.id === "number") out.id = o.id;
  if (typeof o.method === "string") out.method = o.method;
  const p = o.params;
  out.hasParams = p !== null && typeof p === "object" && !Array.isArray(p);
  if (out.hasParams) {
    const params = p as Record<string, unknown>;
    if (typeof params.name === "string") out.name = params.name;
    const meta = params._meta as Record<string, unknown> | undefined;
    if (meta && typeof meta === "object" && !Array.isArray(meta) && meta.progressToken !== undefined)
      out.progressToken = meta.progressToken as string | number;
  }
  return out;
}

/** Envelope values of a type the scanner leaves to the parsing path (it returns undefined). */
function leftToParser(parsed: unknown): boolean {
  const o = parsed as Record<string, unknown>;
  if ("method" in o && typeof o.method !== "string") return true;
  const p = o.params as Record<string, unknown> | undefined;
  if (!p || typeof p !== "object" || Array.isArray(p)) return false;
  const meta = p._meta as Record<string, unknown> | undefined;
  if (!meta || typeof meta !== "object" || Array.isArray(meta) || !("progressToken" in meta)) return false;
  return typeof meta.progressToken !== "string" && typeof meta.progressToken !== "number";
}

/** A valid line with unique envelope keys: the scanner must accept it unless a value is left to the parser. */
function checkValid(line: string): void {
  if (check(line) || leftToParser(JSON.parse(Buffer.from(line).toString("utf8")))) return;
  throw new Error(`scanner refused valid JSON: ${JSON.stringify(line)}`);
}

/** Checks one line: if the scanner accepts it, JSON.parse must agree on every envelope value. */
function check(line: string): RequestEnvelope | undefined {
  const bytes = Buffer.from(line);
  const env = scanEnvelope(bytes);
  let parsed: unknown;
  let valid = true;
  try {
    // What the parsing path sees: the line's bytes decoded (a lone surrogate became U+FFFD).
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {
    valid = false;
  }
  if (!env) return undefined;
  if (!valid) throw new Error(`scanner accepted invalid JSON: ${JSON.stringify(line)}`);
  expect(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)).toBe(true);
  const { idSpan, nameSpan, progressTokenSpan, ...values } = env;
  const expected = parsedEnvelope(parsed);
  expect(values, line).toEqual(expected);
  const slice = (s: { start: number; end: number }) => JSON.parse(bytes.subarray(s.start, s.end).toString());
  if (env.id !== undefined) expect(slice(idSpan as { start: number; end: number })).toEqual(env.id);
  if (env.name !== undefined) expect(slice(nameSpan as { start: number; end: number })).toBe(env.name);
  if (env.progressToken !== undefined)
    expect(slice(progressTokenSpan as { start: number; end: number })).toEqual(env.progressToken);
  return env;
}

describe("scanEnvelope", () => {
  it("finds the envelope of an SDK-style tools/call line", () => {
    const line =
      '{"method":"tools/call","params":{"name":"bench__echo","arguments":{"text":"a \\"name\\": x"},"_meta":{"progressToken":7}},"jsonrpc":"2.0","id":42}';
    const env = check(line) as RequestEnvelope;
    expect(env).toMatchObject({
      jsonrpc: "2.0",
      id: 42,
      method: "tools/call",
      hasParams: true,
      name: "bench__echo",
      progressToken: 7,
    });
    expect(line.slice(env.nameSpan?.start, env.nameSpan?.end)).toBe('"bench__echo"');
  });

  it("never reads nested keys as envelope keys", () => {
    const line =
      '{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"arguments":{"name":"inner","id":9,"_meta":{"progressToken":1}},"name":"outer","x":{"params":{"name":"deep"}}}}';
    const env = check(line) as RequestEnvelope;
    expect(env.id).toBe("a");
    expect(env.name).toBe("outer");
    expect(env.progressToken).toBeUndefined();
  });

  it("decodes escaped keys and values the way JSON.parse does", () => {
    const env = check(
      '{"\\u0069d":"x\\"y","method":"tools\\/call","params":{"n\\u0061me":"\\u00e9t\\u00e9"}}',
    );
    expect(env).toMatchObject({ id: 'x"y', method: "tools/call", name: "été" });
  });

  it("is unsure about repeated envelope keys (JSON.parse keeps the last)", () => {
    expect(scanEnvelope(Buffer.from('{"id":1,"method":"a","id":2}'))).toBeUndefined();
    expect(scanEnvelope(Buffer.from('{"id":1,"params":{"name":"a","name":"b"}}'))).toBeUndefined();
    // A repeated key that is not part of the envelope is fine.
    expect(scanEnvelope(Buffer.from('{"id":1,"x":1,"x":2}'))?.id).toBe(1);
  });

  it("rejects what JSON.parse rejects", () => {
    for (const bad of [
      "",
      "{",
      "{}}",
      '{"a":1,}',
      '{"a" 1}',
      "{'a':1}",
      '{"a":01}',
      '{"a":1.}',
      '{"a":.5}',
      '{"a":-}',
      '{"a":1e}',
      '{"a":tru}',
      '{"a":"\\x"}',
      '{"a":"\\u12G4"}',
      '{"a":"tab\there"}',
      '{"a":[1,]}',
      '{"a":[1 2]}',
      '{"a":1} x',
      "[1]",
      '"x"',
      "\ufeff{}",
      '{"a":NaN}',
    ]) {
      expect(scanEnvelope(Buffer.from(bad)), bad).toBeUndefined();
      expect(() => JSON.parse(bad) as unknown, bad).toSatisfy((f: () => unknown) => {
        try {
          const v = f();
          return v === null || typeof v !== "object" || Array.isArray(v);
        } catch {
          return true;
        }
      });
    }
  });

  it("stops early for another method when asked", () => {
    const line = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}');
    expect(scanEnvelope(line, "tools/call")).toBeUndefined();
    expect(scanEnvelope(line, "tools/list")?.method).toBe("tools/list");
  });

  it("leaves very deep nesting to JSON.parse", () => {
    const deep = `{"id":1,"params":{"arguments":${"[".repeat(600)}${"]".repeat(600)}}}`;
    expect(scanEnvelope(Buffer.from(deep))).toBeUndefined();
  });

  it("agrees with JSON.parse on random request lines and on their mutations", () => {
    const r = rng(20261124);
    let accepted = 0;
    let mutatedAccepted = 0;
    for (let n = 0; n < 3000; n++) {
      const line = randomRequest(r);
      // Generated lines are valid JSON with unique keys: the scanner must accept every one.
      checkValid(line);
      accepted++;
      for (let m = 0; m < 4; m++) {
        const at = r.int(line.length + 1);
        const op = r.int(3);
        const ch = r.pick([
          '"',
          "\\",
          "{",
          "}",
          "[",
          "]",
          ",",
          ":",
          "0",
          "-",
          "e",
          ".",
          " ",
          "\u0001",
          "u",
          "n",
          "t",
        ]);
        const mutated =
          op === 0
            ? line.slice(0, at) + line.slice(at + 1)
            : op === 1
              ? line.slice(0, at) + ch + line.slice(at)
              : line.slice(0, at) + ch + line.slice(at + 1);
        if (check(mutated)) mutatedAccepted++;
      }
    }
    expect(accepted).toBe(3000);
    // Some mutations stay valid JSON (e.g. inside strings): the checks above covered them too.
    expect(mutatedAccepted).toBeGreaterThan(0);
  });

  it("agrees with JSON.parse on random JSON documents", () => {
    const r = rng(7);
    for (let n = 0; n < 3000; n++) {
      const line = ws(r) + randomObject(r, 0, "top") + ws(r);
      checkValid(line);
    }
  });

  it("scans a 256 KB argument with multi-byte characters", () => {
    const text = 'é€😀 \\" '.repeat(40_000);
    const line = JSON.stringify({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "s__echo", arguments: { text } },
    });
    expect(check(line)).toMatchObject({ id: 3, name: "s__echo" });
  });
});
