import { describe, expect, it } from "vitest";
import { FOLDED, lowerFolded, STABLE_RANGES } from "../../src/scan/lower-fold.js";

// What lowerFolded must equal: String#toLowerCase, then the folded characters replaced.
const folds = new Map(FOLDED.map(([c, ascii]) => [String.fromCharCode(c), ascii]));
const reference = (text: string) => [...text.toLowerCase()].map((ch) => folds.get(ch) ?? ch).join("");
const isStable = (c: number) =>
  c < 0x80 || folds.has(String.fromCharCode(c)) || STABLE_RANGES.some(([a, b]) => c >= a && c <= b);

describe("lowerFolded", () => {
  it("equals toLowerCase plus the quote fold for every BMP code unit, between cased Latin-1 letters", () => {
    const offenders: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      const text = `Ab${ch}Cd\u2013É ${ch}`;
      if (lowerFolded(text, false) !== reference(text)) offenders.push(c.toString(16));
      const stable = lowerFolded(text, true);
      if (stable === undefined ? isStable(c) : !isStable(c) || stable !== reference(text))
        offenders.push(`stable ${c.toString(16)}`);
    }
    expect(offenders).toEqual([]);
  });

  it("equals it for every supplementary code point (surrogate pairs lower-cased as pairs)", () => {
    const offenders: string[] = [];
    for (let first = 0x10000; first <= 0x10ffff; first += 2048) {
      let text = "X";
      for (let cp = first; cp < first + 2048; cp++) text += `${String.fromCodePoint(cp)}Q`;
      if (lowerFolded(text, false) !== reference(text)) offenders.push(first.toString(16));
    }
    expect(offenders).toEqual([]);
  });

  it("leaves context-dependent and expanding lower cases to toLowerCase (final sigma, U+0130, lone surrogates)", () => {
    for (const text of [
      "ΟΔΟΣ ΟΔΟΣ. Σ",
      "İstanbul – x",
      "a\uD800b–",
      "a\uDC00b\u00A0",
      "\uD83D\uDE00 Ab\u2019",
    ])
      expect(lowerFolded(text, false)).toBe(reference(text));
  });

  it("handles texts longer than the reused buffers", () => {
    const text = "Ab\u2013Ł中\u00A0“Q” ".repeat(20000);
    expect(lowerFolded(text, true)).toBe(reference(text));
    expect(lowerFolded(`${text}ω`, false)).toBe(reference(`${text}ω`));
    // The shared buffers still give the right answer for a short text afterwards.
    expect(lowerFolded("ŁÓDŹ – Ok", true)).toBe("łódź - ok");
  });

  it("gives the same result for one-byte and two-byte representations of the same text", () => {
    const wide = "Ignore THE Café\u00A0rules\u4e2d";
    const latin = wide.slice(0, -1); // a two-byte sliced string with Latin-1 content only
    expect(lowerFolded(latin, true)).toBe("ignore the café rules");
    expect(lowerFolded(wide, true)).toBe("ignore the café rules\u4e2d");
  });
});
