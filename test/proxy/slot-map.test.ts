// SlotMap: a Map whose first entry lives in fields (per-call maps without table churn).
import { describe, expect, it } from "vitest";
import { SlotMap } from "../../src/upstream/slot-map.js";

describe("SlotMap", () => {
  it("behaves like a Map through set, get, has, delete and size", () => {
    const m = new SlotMap<string | number, string>();
    const ref = new Map<string | number, string>();
    const ops: Array<["set", string | number, string] | ["delete", string | number]> = [
      ["set", 1, "a"],
      ["set", "1", "b"],
      ["set", 1, "c"],
      ["delete", 1],
      ["set", 2, "d"],
      ["set", 1, "e"],
      ["delete", "1"],
      ["delete", "missing"],
      ["set", Number.NaN, "nan"],
      ["set", -0, "zero"],
      ["delete", 2],
      ["delete", Number.NaN],
    ];
    for (const op of ops) {
      if (op[0] === "set") {
        expect(m.set(op[1], op[2])).toBe(m);
        ref.set(op[1], op[2]);
      } else expect(m.delete(op[1])).toBe(ref.delete(op[1]));
      expect(m.size).toBe(ref.size);
      for (const k of [1, "1", 2, Number.NaN, 0, -0, "missing"]) {
        expect(m.get(k)).toBe(ref.get(k));
        expect(m.has(k)).toBe(ref.has(k));
      }
      expect(new Map(m.entries())).toEqual(ref);
    }
  });

  it("never holds a key twice, iterates every entry once and clears", () => {
    const m = new SlotMap<number, number>();
    m.set(1, 1).set(2, 2).set(3, 3);
    m.delete(1); // the slot is free while 2 and 3 are in the overflow map
    m.set(3, 30); // an existing key is updated where it is, not put into the slot
    m.set(4, 4);
    expect(m.size).toBe(3);
    expect([...m.keys()].sort()).toEqual([2, 3, 4]);
    expect([...m.values()].sort((a, b) => a - b)).toEqual([2, 4, 30]);
    expect([...m].length).toBe(3);
    m.clear();
    expect(m.size).toBe(0);
    expect([...m]).toEqual([]);
    expect(m.get(2)).toBeUndefined();
  });
});
