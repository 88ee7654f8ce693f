// The official MCP conformance suite (server scenarios) against the fixture directly and through
// warden's Streamable HTTP front door: whatever passes directly must pass through warden.
import { describe, expect, it } from "vitest";
import { runDirectAndProxied } from "./run-mcp-conformance.js";

describe("MCP conformance through warden", () => {
  it("passes every scenario through warden that the fixture passes directly", {
    timeout: 240_000,
  }, async () => {
    const report = await runDirectAndProxied({ suite: "all" });
    // The fixture implements every server scenario, so the direct run is a full pass;
    // if it is not, the fixture (or the suite version) changed and the proof is weaker.
    expect(report.direct.filter((r) => !r.passed).map((r) => r.scenario)).toEqual([]);
    expect(report.direct.length).toBeGreaterThanOrEqual(30);
    expect(report.regressions).toEqual([]);
    expect(report.proxied.map((r) => r.scenario).sort()).toEqual(report.direct.map((r) => r.scenario).sort());
  });
});
