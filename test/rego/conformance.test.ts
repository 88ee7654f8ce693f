// Ratchet: the embedded Rego engine must keep passing at least as many OPA conformance cases
// per class as recorded in conformance-ratchet.json (raise the numbers when more pass).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runSuite, summarize } from "../../src/rego/conformance/runner.js";

const casesDir = fileURLToPath(new URL("../fixtures/opa-conformance/cases", import.meta.url));
const ratchet = JSON.parse(
  readFileSync(new URL("./conformance-ratchet.json", import.meta.url), "utf8"),
) as Record<string, number | string>;

describe("OPA conformance cases (dev set)", () => {
  const results = runSuite(casesDir);
  const summary = summarize(results);

  for (const [cls, min] of Object.entries(ratchet)) {
    if (typeof min !== "number") continue;
    it(`class ${cls}: at least ${min} cases pass`, () => {
      const got = summary[cls]?.passed ?? 0;
      const failures = results
        .filter((r) => !r.pass && (cls === "all" || r.cls === cls))
        .map((r) => `${r.file}#${r.index} ${r.note}: ${r.reason}`)
        .slice(0, 20);
      expect(
        got,
        `passing ${cls} cases dropped below the ratchet:\n${failures.join("\n")}`,
      ).toBeGreaterThanOrEqual(min);
    });
  }

  it("every case file parsed and ran", () => {
    expect(results.length).toBeGreaterThanOrEqual(1400);
    expect(results.filter((r) => r.reason?.startsWith("runner crash"))).toEqual([]);
  });
});
