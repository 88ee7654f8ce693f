import { describe, expect, it } from "vitest";
import { FOLDED, isStableChar, lowerFolded, stableForm } from "../../src/scan/lower-fold.js";
import { normalizeStepwise } from "../../src/scan/normalize.js";

// What lowerFolded must equal: String#toLowerCase, then the folded characters replaced.
const folds = new Map(FOLDED.map(([c, ascii]) => [String.fromCharCode(c), ascii]));
const reference = (text: string) => [...text.toLowerCase()].map((ch) => folds.get(ch) ?? ch).join("");

describe("lowerFolded (text in NFKC)", () => {
  it("equals toLowerCase plus the quote fold for every BMP code unit, between cased Latin-1 letters", () => {
    const offenders: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const text = `Ab${String.fromCharCode(c)}Cd\u2013É ${String.fromCharCode(c)}`.normalize("NFKC");
      if (lowerFolded(text) !== reference(text)) offenders.push(c.toString(16));
    }
    expect(offenders).toEqual([]);
  });

  it("equals it for every supplementary code point (surrogate pairs lower-cased as pairs)", () => {
    const offenders: string[] = [];
    for (let first = 0x10000; first <= 0x10ffff; first += 256) {
      // Sparse (most of a text ASCII) and dense (every other unit a surrogate) texts.
      let sparse = "X";
      let dense = "X";
      for (let cp = first; cp < first + 256; cp++) {
        sparse += `${String.fromCodePoint(cp)} Quite a Long Gap Of ASCII Text`;
        dense += `${String.fromCodePoint(cp)}Q`;
      }
      for (const text of [sparse.normalize("NFKC"), dense.normalize("NFKC")])
        if (lowerFolded(text) !== reference(text)) offenders.push(first.toString(16));
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
      expect(lowerFolded(text)).toBe(reference(text));
    const dense = "ΣΑΣ中".repeat(500);
    expect(lowerFolded(dense)).toBe(reference(dense));
  });

  it("handles texts longer than the reused buffers, sparse and dense", () => {
    const sparse = "Ab\u2013Ł中\u00A0“Q” Some More ASCII Text. ".repeat(5000);
    const dense = "中文Ab\u2013".repeat(30000);
    for (const text of [sparse, dense, `${sparse}ω`, `${dense}Ω`])
      expect(lowerFolded(text)).toBe(reference(text));
    // The shared buffers still give the right answer for a short text afterwards.
    expect(lowerFolded("ŁÓDŹ – Ok")).toBe("łódź - ok");
  });

  it("gives the same result for one-byte and two-byte representations of the same text", () => {
    const wide = "Ignore THE Café\u00A0rules\u4e2d";
    const latin = wide.slice(0, -1); // a two-byte sliced string with Latin-1 content only
    expect(lowerFolded(latin)).toBe("ignore the café rules");
    expect(lowerFolded(wide)).toBe("ignore the café rules\u4e2d");
  });
});

describe("stableForm", () => {
  it("is undefined for text with a character that needs the other steps", () => {
    for (const text of [
      "a\u200Bb",
      "caf\u0065\u0301",
      "ΟΔΟΣ",
      "ıпривет",
      "ȷ ω",
      "\u0385",
      "ﬁle",
      "\uD83D\uDE00\uFE0F",
      "\uD83C\uDDFA",
      "\uDE00\uD83D",
      "\uD83D",
      "ª½",
      "x\u0130\u0301",
    ])
      expect(stableForm(text)).toBeUndefined();
    expect(stableForm("Ａｂ，ｃ “Q” – Ł 中 ª 😀")).toBe('ab,c "q" - ł 中 a 😀');
    // Greek, Cyrillic and IPA letters fold their look-alikes, and ı, ȷ after them.
    expect(stableForm("Привет, ΟΔΟ ı ȷ")).toBe("пpиbet, oδo i j");
    // U+0130 lower-cases to "i" and a combining dot above.
    for (const text of ["\u0130stanbul", "x \u0130\u0130 – \u0130", "ΑΒ\u0130ı", "\u0130".repeat(5000)])
      expect(stableForm(text)).toBe(normalizeStepwise(text).text);
  });

  it("equals the stepwise normalisation for Greek, Cyrillic and IPA letters, ı and ȷ, in texts with and without them", () => {
    const offenders: string[] = [];
    const letters: string[] = [];
    for (let c = 0x100; c < 0x530; c++) {
      const ch = String.fromCharCode(c);
      const mixed = stableForm(`\u0436${ch}`);
      if (mixed === undefined) continue;
      letters.push(ch);
      for (const text of [
        `x${ch}y`,
        `X${ch}Y ı ȷ`,
        `Б${ch}ı`,
        `ı${ch}`,
        `${ch}Ab ${ch}ȷ`,
        `“${ch}” – ${ch}中`,
      ]) {
        const form = stableForm(text);
        if (form !== undefined && form !== normalizeStepwise(text).text) offenders.push(c.toString(16));
      }
      if (stableForm(`\u0436${ch}`) !== normalizeStepwise(`\u0436${ch}`).text) offenders.push(c.toString(16));
    }
    // Every Greek and Cyrillic letter but capital sigma and those NFKC changes to two characters.
    expect(letters.length).toBeGreaterThan(600);
    expect(letters).toContain("ı");
    expect(letters).not.toContain("\u03A3");
    let seed = 7;
    const random = () => {
      seed = (seed * 48271) % 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const others = ["a", "B", " ", "é", "\u2013", "“", "中", "ı", "ȷ", "😀", "Ａ"];
    for (let i = 0; i < 2000; i++) {
      let text = "";
      for (let k = 0; k < 12; k++)
        text +=
          random() < 0.5
            ? letters[Math.floor(random() * letters.length)]
            : others[Math.floor(random() * others.length)];
      const form = stableForm(text);
      if (form !== undefined && form !== normalizeStepwise(text).text) offenders.push(JSON.stringify(text));
    }
    expect(offenders).toEqual([]);
  });

  it("equals the stepwise normalisation for every stable character, alone and among other stable characters", () => {
    const offenders: string[] = [];
    const stable: string[] = [];
    for (let c = 0x80; c <= 0xffff; c++) {
      if (!isStableChar(c)) continue;
      const ch = String.fromCharCode(c);
      stable.push(ch);
      for (const text of [`x${ch}y`, `X${ch}Y`, `${ch}Ab ${ch}`])
        if (stableForm(text) !== normalizeStepwise(text).text) offenders.push(c.toString(16));
    }
    for (let cp = 0x1f000; cp <= 0x1fbff; cp++) {
      if (!isStableChar(cp)) continue;
      const ch = String.fromCodePoint(cp);
      stable.push(ch);
      for (const text of [`x${ch}y`, `X${ch}Y`, `${ch}Ab ${ch}`])
        if (stableForm(text) !== normalizeStepwise(text).text) offenders.push(cp.toString(16));
    }
    expect(stable.length).toBeGreaterThan(34000);
    // Every stable character next to others (a fixed shuffle), in texts of both densities.
    let seed = 1;
    const random = () => {
      seed = (seed * 48271) % 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const shuffled = [...stable].sort(() => random() - 0.5);
    for (let i = 0; i < shuffled.length; i += 512) {
      const piece = shuffled.slice(i, i + 512);
      for (const text of [piece.join(""), piece.join(" Some ASCII Words ")])
        if (stableForm(text) !== normalizeStepwise(text).text) offenders.push(`piece ${i}`);
    }
    expect(offenders).toEqual([]);
  });
});
