// Unit tests for the conformance runner's result handling (the suite itself runs in mcp-conformance.test.ts).
import { describe, expect, it } from "vitest";
import { formatResults, regressions, type ScenarioResult } from "./conformance-suite.js";

const result = (scenario: string, statuses: string[]): ScenarioResult => ({
  scenario,
  passed: !statuses.includes("FAILURE"),
  checks: statuses.map((status, i) => ({
    id: `${scenario}-${i}`,
    name: `Check${i}`,
    status,
    errorMessage: status === "FAILURE" ? "boom" : undefined,
  })),
});

describe("conformance result handling", () => {
  it("reports scenarios that pass directly but fail through the proxy", () => {
    const direct = [result("a", ["SUCCESS"]), result("b", ["SUCCESS"]), result("c", ["FAILURE"])];
    const proxied = [result("a", ["SUCCESS"]), result("b", ["FAILURE"]), result("c", ["FAILURE"])];
    expect(regressions(direct, proxied)).toEqual(["b"]);
  });

  it("counts a scenario missing from the proxied run as a regression", () => {
    expect(regressions([result("a", ["SUCCESS"])], [])).toEqual(["a"]);
  });

  it("treats warnings as passing and names failed checks", () => {
    const text = formatResults("run", [
      result("w", ["WARNING", "INFO"]),
      result("f", ["SUCCESS", "FAILURE"]),
    ]);
    expect(text).toContain("pass  w (0 checks ok, 1 warnings)");
    expect(text).toContain("FAIL  f (1 checks ok) — Check1: boom");
    expect(text.split("\n").at(-1)).toBe("  1 passed, 1 failed");
  });
});
