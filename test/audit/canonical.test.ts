// canonicalJson's fast path (JSON.stringify when every object already has its keys in order)
// against the member-by-member definition: sorted keys at every level, undefined and function
// members dropped, undefined/function array items as null, scalars as JSON.stringify writes them.
// The ledger hashes this text and `warden audit verify` recomputes it, so it must never change.
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/audit/canonical.js";
import { type Rng, rng } from "../support/rng.js";

/** The definition, written plainly (what canonicalJson computed before the fast path). */
function reference(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") {
    const s = JSON.stringify(value);
    return s === undefined ? "null" : s;
  }
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined || typeof v === "function" ? "null" : reference(v))).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const members = Object.keys(obj)
    .sort()
    .filter((k) => obj[k] !== undefined && typeof obj[k] !== "function")
    .map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`);
  return `{${members.join(",")}}`;
}

const KEYS = ["a", "b", "c", "args", "argsHmac", "v", "ts", "é", "Z", "10", "9", "", "toJSON_", "__proto_"];
const SCALARS: unknown[] = [
  "",
  "x",
  'q"\\',
  "é😀",
  0,
  -0,
  1.5,
  1e21,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  null,
  undefined,
];

function randomValue(r: Rng, depth: number): unknown {
  const roll = r.next();
  if (depth > 4 || roll < 0.45) {
    if (r.next() < 0.04) return r.pick([() => 1, Symbol("s"), new Date(0)]);
    return r.pick(SCALARS);
  }
  if (roll < 0.6) return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
  const keys = Array.from({ length: r.int(6) }, () => r.pick(KEYS));
  // Often in sorted order (the fast path), sometimes not, sometimes without a prototype.
  if (r.next() < 0.6) keys.sort();
  const obj: Record<string, unknown> = r.next() < 0.1 ? Object.create(null) : {};
  for (const k of keys) obj[k] = randomValue(r, depth + 1);
  if (r.next() < 0.03) obj.toJSON = () => "custom";
  return obj;
}

describe("canonicalJson", () => {
  it("equals the member-by-member definition on 20,000 random values", () => {
    for (let seed = 1; seed <= 20_000; seed++) {
      const v = randomValue(rng(seed), 0);
      expect(canonicalJson(v), `seed ${seed}`).toBe(reference(v));
    }
  });

  it("sorts keys and drops undefined members at every level", () => {
    const v = { b: 1, a: { d: [undefined, () => 1, { y: 2, x: undefined }], c: "é" }, u: undefined };
    expect(canonicalJson(v)).toBe('{"a":{"c":"é","d":[null,null,{"y":2}]},"b":1}');
    expect(canonicalJson({ a: 1, b: { z: 1, y: 2 } })).toBe('{"a":1,"b":{"y":2,"z":1}}');
    expect(canonicalJson({ 9: 1, 10: 2, b: 3 })).toBe('{"10":2,"9":1,"b":3}');
    expect(canonicalJson({ when: new Date(0) })).toBe('{"when":{}}');
  });
});

describe("argumentsHmacFor (memoized arguments HMAC)", () => {
  it("gives argumentsHmac's value for repeated, new and long arguments", async () => {
    const { createSecretKey } = await import("node:crypto");
    const { argumentsHmac, argumentsHmacFor } = await import("../../src/audit/record.js");
    const key = createSecretKey(Buffer.from("k".repeat(32)));
    const other = createSecretKey(Buffer.from("o".repeat(32)));
    const hmac = argumentsHmacFor(key);
    const values = [
      { a: 1 },
      { b: "x" },
      { a: 1 },
      { long: "y".repeat(5000) },
      { long: "y".repeat(5000) },
      undefined,
      { a: 1 },
    ];
    for (let round = 0; round < 300; round++)
      for (const v of [...values, { n: round }]) expect(hmac(v)).toBe(argumentsHmac(key, v));
    expect(argumentsHmacFor(other)({ a: 1 })).not.toBe(hmac({ a: 1 }));
  });
});
