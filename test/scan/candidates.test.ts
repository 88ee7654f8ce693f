import { describe, expect, it } from "vitest";
import { maxMatchLength, UNBOUNDED_CAP } from "../../src/scan/detectors/match-span.js";
import { detectPii } from "../../src/scan/detectors/pii.js";
import { detectSecrets } from "../../src/scan/detectors/secrets.js";
import { findCandidates, tokenRuns } from "../../src/scan/runs.js";

describe("maxMatchLength", () => {
  it("adds up literals, classes, bounded repetition and the longest branch", () => {
    expect(maxMatchLength("abc")).toBe(3);
    expect(maxMatchLength("a(?:bc|d{2,5})[^y]{0,10}?")).toBe(1 + 5 + 10);
    expect(maxMatchLength("\\bfoo\\b(?=x)(?<!y)")).toBe(3);
    expect(maxMatchLength("a\\s+b")).toBe(2 + UNBOUNDED_CAP);
    expect(maxMatchLength("(?<name>ab)\\u0041\\x41")).toBe(4);
  });

  it("gives up (Infinity) on back-references", () => {
    expect(maxMatchLength("(a)\\1")).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("findCandidates", () => {
  it("finds the same token runs as tokenRuns", () => {
    const text = "key AKIAIOSFODNN7EXAMPLE and https://example.com/a/b?c=d, short words only";
    expect(findCandidates(text).runs).toEqual(tokenRuns(text, 12));
  });

  it("finds digit spans with their digit and dot counts, starting at a digit, + or (", () => {
    const text = "call (555) 123-4567 or 10.0.0.1; year 2024 and 12 apples";
    const spans = findCandidates(text).digitSpans.map((s) => [
      text.slice(s.start, s.end).trim(),
      s.digits,
      s.dots,
    ]);
    expect(spans).toEqual([
      ["(555) 123-4567", 10, 0],
      ["10.0.0.1", 5, 3],
      ["2024", 4, 0],
    ]);
  });
});

describe("detectors restricted to candidates", () => {
  it("finds PII whose neighbourhood matters for the look-aheads", () => {
    // A phone-shaped number glued to a word is not a phone number (look-ahead on the next char).
    expect(detectPii("ref 555-123-4567abc", { types: ["phone"] })).toEqual([]);
    expect(detectPii("Phone: (415) 555-2671.", { types: ["phone"] }).map((h) => h.kind)).toEqual(["phone"]);
    expect(detectPii("card 4111 1111 1111 1111 end", { types: ["credit_card"] })).toHaveLength(1);
    expect(detectPii("host 192.168.10.20, port", { types: ["ip_address"] })).toHaveLength(1);
  });

  it("finds credential assignments whose name sits inside a longer identifier", () => {
    const hits = detectSecrets('DB_PASSWORD="x9#Lq2vR7!pZ" and myApiKey: Zk82hdA91LmQ0pWx');
    expect(hits.map((h) => h.kind)).toEqual(["generic_secret", "generic_secret"]);
    // Non-ASCII text before a name (lower-casing can change lengths) keeps the positions right.
    const [hit] = detectSecrets('İİ token = "Q8zR2kLm9XwP4vT7"');
    expect(hit?.start).toBe('İİ token = "'.length);
  });
});
