import examples from "libphonenumber-js/examples.mobile.json";
import {
  type CountryCode,
  getCountries,
  getCountryCallingCode,
  parsePhoneNumberFromString,
} from "libphonenumber-js/max";
import { describe, expect, it } from "vitest";
import { phoneVerdict } from "../../src/scan/detectors/phone-plans.js";

// Seeded PRNG (mulberry32): the same numbers on every run.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const regions = getCountries();
const mobileExamples = examples as Partial<Record<CountryCode, string>>;
const nonGeographicCodes = ["800", "808", "870", "878", "881", "882", "883", "888", "979"];

/**
 * Phone-shaped strings like the ones the PII detector sends: "+country" or national digits in
 * groups of 1-4 with " ", ".", "-" or nothing between them, sometimes a first group in
 * parentheses. National numbers are a region's example mobile number with its last digits
 * replaced (valid and near-valid numbers) or its first digits dropped (local numbers, which some
 * plans rewrite), or random digits of 1-16 places; some get a leading national prefix,
 * international dialling prefix or calling code. Regions: all in the metadata, plus a few it
 * does not have.
 */
function generate(random: () => number, count: number): Array<{ raw: string; region: string }> {
  const int = (n: number) => Math.floor(random() * n);
  const digits = (n: number) => Array.from({ length: n }, () => int(10)).join("");
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  const separators = ["", " ", ".", "-"];
  const unknownRegions = ["XX", "ZZ", "us", "UK"];
  const format = (ds: string) => {
    let out = "";
    for (let i = 0; i < ds.length; ) {
      const group = ds.slice(i, i + 1 + int(4));
      i += group.length;
      if (out === "" && i < ds.length && random() < 0.15) out = `(${group})${pick(separators)}`;
      else out += (out === "" ? "" : pick(separators)) + group;
    }
    return out;
  };
  const out: Array<{ raw: string; region: string }> = [];
  while (out.length < count) {
    const country = pick(regions);
    const example = mobileExamples[country];
    let national: string;
    const shape = random();
    if (example && shape < 0.5) {
      const keep = Math.max(0, example.length - int(5));
      national = example.slice(0, keep) + digits(example.length - keep + (random() < 0.1 ? int(3) - 1 : 0));
    } else if (example && shape < 0.65) {
      national = example.slice(1 + int(Math.max(1, example.length - 4)));
    } else {
      national = digits(1 + int(16));
    }
    const lead = random();
    if (lead < 0.08) national = `0${national}`;
    else if (lead < 0.12) national = `00${national}`;
    else if (lead < 0.15) national = `011${national}`;
    else if (lead < 0.2) national = getCountryCallingCode(country) + national;
    const region = random() < 0.03 ? pick(unknownRegions) : undefined;
    if (random() < 0.5) {
      const code = random() < 0.9 ? getCountryCallingCode(country) : pick(nonGeographicCodes);
      out.push({
        raw: `+${code}${pick(separators)}${format(national)}`,
        region: region ?? (random() < 0.5 ? "US" : pick(regions)),
      });
    } else {
      out.push({ raw: format(national), region: region ?? (random() < 0.2 ? "US" : country) });
    }
  }
  return out;
}

describe("phone verdicts from compiled metadata", () => {
  it("agree with libphonenumber", () => {
    let answered = 0;
    let valid = 0;
    const differences: string[] = [];
    for (const { raw, region } of generate(prng(4), 40_000)) {
      const digits = raw.replace(/\D/g, "");
      if (digits.length === 0) continue;
      const fast = phoneVerdict(raw, digits, region);
      if (fast === undefined) continue;
      answered++;
      const expected = parsePhoneNumberFromString(raw, region as CountryCode)?.isValid() ?? false;
      if (expected) valid++;
      if (fast !== expected) differences.push(`${raw} (${region}): libphonenumber ${expected}, fast ${fast}`);
    }
    expect(differences).toEqual([]);
    // Every number is answered (but national ones with a region the metadata lacks), valid ones
    // among them: not just an "invalid" filter.
    expect(answered).toBeGreaterThan(39_000);
    expect(valid).toBeGreaterThan(10_000);
  });

  it("answers national and international numbers, prefixes included, without libphonenumber", () => {
    const verdict = (raw: string, region: string) => phoneVerdict(raw, raw.replace(/\D/g, ""), region);
    expect(verdict("+44 20 7946 0958", "US")).toBe(true);
    expect(verdict("+33.170377661", "US")).toBe(true);
    expect(verdict("+1 (415) 555-2671", "US")).toBe(true);
    expect(verdict("(415) 555-2671", "US")).toBe(true);
    expect(verdict("+852.85268581006", "US")).toBe(false);
    expect(verdict("+0 123 4567", "US")).toBe(false);
    // National prefix, international dialling prefix, the region's calling code without "+".
    expect(verdict("0490 75 40 81", "AU")).toBe(true);
    expect(verdict("020 7946 0958", "GB")).toBe(true);
    expect(verdict("011 44 20 7946 0958", "US")).toBe(true);
    expect(verdict("1-800-555-0199", "US")).toBe(true);
    expect(verdict("1-212-055-0123", "US")).toBe(false);
    // A prefix the plan rewrites: Argentine mobile "0 11 15 …" is "+54 9 11 …".
    expect(verdict("0 11 15 2345 6789", "AR")).toBe(true);
    // A region the metadata lacks: "+" numbers are still answered, national ones left to libphonenumber.
    expect(verdict("+44 20 7946 0958", "XX")).toBe(true);
    expect(verdict("212 555 0199", "XX")).toBeUndefined();
  });
});
