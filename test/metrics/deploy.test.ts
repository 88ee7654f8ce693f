// deploy/: the alert rules pass `promtool check rules` and their own `promtool test rules`
// cases; the Grafana dashboard only queries metrics warden exports.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { WardenMetrics } from "../../src/metrics/registry.js";

const run = promisify(execFile);
const DEPLOY = resolve(import.meta.dirname, "../../deploy");

describe("deploy/", () => {
  it("alert rules pass promtool check rules", async () => {
    const { stdout } = await run("promtool", ["check", "rules", join(DEPLOY, "prometheus-alerts.yaml")]);
    expect(stdout).toMatch(/SUCCESS: 8 rules found/);
  });

  it("alert rules fire as their unit tests expect (promtool test rules)", async () => {
    const { stdout } = await run("promtool", ["test", "rules", "prometheus-alerts.test.yaml"], {
      cwd: DEPLOY,
    });
    expect(stdout).toMatch(/SUCCESS/);
  });

  it("rules and dashboard only use metrics warden exports", async () => {
    const m = new WardenMetrics({ processMetrics: false });
    const exported = new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
    const used = (text: string) =>
      [...text.matchAll(/\b((?:policy|tool|upstream|audit)_[a-z_]+?)(?:_bucket|_count|_sum)?\b/g)].map(
        (x) => x[1],
      );
    const rules = readFileSync(join(DEPLOY, "prometheus-alerts.yaml"), "utf8");
    const dashboard = JSON.parse(readFileSync(join(DEPLOY, "grafana-dashboard.json"), "utf8")) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    const names = new Set([...used(rules.replace(/^\s*#.*$/gm, "")), ...used(exprs)]);
    expect(names.size).toBeGreaterThan(8);
    for (const n of names) expect(exported, `${n} is not exported`).toContain(n);
  });
});
