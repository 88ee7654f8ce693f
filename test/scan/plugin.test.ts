import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildRootSchema, presentSections } from "../../src/config/schema.js";
import { registerScanPlugin } from "../../src/scan/plugin.js";
import { buildPlugins, registeredPlugins } from "../../src/server/plugins.js";

describe("warden serve integration", () => {
  it("adds the scan stage only when warden.yaml has a scan: section, and validates the section", async () => {
    registerScanPlugin();
    registerScanPlugin(); // idempotent
    const scan = registeredPlugins().filter((p) => p.name === "scan");
    expect(scan).toHaveLength(1);
    const dir = mkdtempSync(path.join(tmpdir(), "warden-scan-plugin-"));
    try {
      const root = buildRootSchema();
      const withScan = root.parse({ scan: { pins: { stateDir: "state" } } });
      const built = await buildPlugins(
        { config: withScan as never, environment: "dev", configDir: dir },
        scan,
      );
      expect(built.stages.map((s) => s.name)).toEqual(["scan"]);
      // Policy's obligations on arguments run in a stage of their own, after policy (order 40).
      const policyIn = registeredPlugins().filter((p) => p.name === "scan-policy-in");
      expect(policyIn.map((p) => p.order)).toEqual([45]);
      const both = await buildPlugins({ config: withScan as never, environment: "dev", configDir: dir }, [
        ...scan,
        ...policyIn,
      ]);
      expect(both.stages.map((s) => s.name)).toEqual(["scan", "scan-policy-in"]);
      const without = root.parse({});
      expect(
        (await buildPlugins({ config: without as never, environment: "dev", configDir: dir }, scan)).stages,
      ).toEqual([]);
      // warden.yaml validation picks up the registered scan section.
      const sections = presentSections({ scan: { maxBytes: -1 } });
      expect(sections.map(([name]) => name)).toEqual(["scan"]);
      expect(() => sections[0][1].parse({ maxBytes: -1 })).toThrow(/maxBytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
