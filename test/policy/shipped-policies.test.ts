// The shipped policies (policies/) and their *_test.rego suites, run through the embedded Rego
// engine, plus a few decisions through the full PolicyEngine with the rego backend.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createLimitsStage, parseLimitsConfig } from "../../src/limits/index.js";
import { Pipeline } from "../../src/pipeline/runner.js";
import { regoBackend } from "../../src/policy/backends/rego.js";
import { PolicyEngine } from "../../src/policy/engine.js";
import { policyStage } from "../../src/policy/stage.js";
import { compilePolicy } from "../../src/rego/index.js";
import { makeCtx } from "./helpers.js";

const POLICIES = resolve(import.meta.dirname, "../../policies");

function regoFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? regoFiles(p) : p.endsWith(".rego") ? [p] : [];
  });
}

describe("shipped policies", () => {
  const files = regoFiles(POLICIES);
  const policy = compilePolicy({ modules: files.map((f) => ({ name: f, source: readFileSync(f, "utf8") })) });
  const tests = policy.tests("test_");

  it("has test suites", () => {
    expect(files.some((f) => f.endsWith("_test.rego"))).toBe(true);
    expect(tests.length).toBeGreaterThanOrEqual(20);
  });

  it.each(tests.map((t) => [t.path, t] as const))("%s passes", (_path, t) => {
    const r = policy.prepareQuery(t.path).eval({});
    expect(r.error?.message).toBeUndefined();
    expect(r.results.length).toBeGreaterThan(0);
  });

  it("decides real calls through the engine", async () => {
    const engine = new PolicyEngine({ backend: regoBackend({ paths: [POLICIES] }) });
    await engine.start();
    const meta = { risk: "low" as const, labels: ["fs-read"], requiresApproval: false };
    const ok = await engine.evaluate(makeCtx({ environment: "dev", meta, args: { path: "notes.txt" } }));
    expect(ok.outcome).toBe("allow");
    expect(ok.decision.obligations).toEqual([
      { type: "session_budget", calls: 1000 },
      { type: "rate_limit", scope: "subject", limit: 600, per: "minute" },
    ]);
    const bad = await engine.evaluate(
      makeCtx({ environment: "dev", meta, args: { path: "../../etc/passwd" } }),
    );
    expect(bad.outcome).toBe("deny");
    expect(bad.decision.reasons.join()).toMatch(
      /dangerous argument \((path traversal|credential file)\) at \/path/,
    );
    const prod = await engine.evaluate(makeCtx({ environment: "prod", meta }));
    expect(prod.outcome).toBe("deny");
    const support = await engine.evaluate(makeCtx({ environment: "prod", meta, team: "support" }));
    expect(support.outcome).toBe("allow");
    const high = await engine.evaluate(
      makeCtx({ environment: "dev", meta: { risk: "high", labels: ["secrets"], requiresApproval: true } }),
    );
    expect(high.outcome).toBe("approval_required");
    expect(engine.version).toMatch(/^sha256:[0-9a-f]{16}$/);
  });
});

describe("the dev session budget", () => {
  it("is enforced by the limits stage from the policy's obligation, while decisions stay cached", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(join(tmpdir(), "warden-budget-"));
    const budget = join(dir, "budget.json");
    await writeFile(budget, JSON.stringify({ warden_config: { dev_session_budget: 3 } }));
    const engine = new PolicyEngine({ backend: regoBackend({ paths: [POLICIES, budget] }) });
    await engine.start();
    const pipeline = new Pipeline([policyStage(engine), createLimitsStage(parseLimitsConfig(undefined))]);
    const meta = { risk: "low" as const, labels: ["fs-read"], requiresApproval: false };
    const session = makeCtx().session;
    const results: string[] = [];
    const cached: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const ctx = { ...makeCtx({ environment: "dev", meta }), session };
      session.callCount = i;
      try {
        await pipeline.run(ctx, async () => ({ content: [] }));
        results.push("ok");
      } catch (err) {
        results.push((err as { data?: { reason?: string } }).data?.reason ?? String(err));
      }
      cached.push((ctx.annotations.policy as { cached: boolean }).cached);
    }
    expect(results).toEqual(["ok", "ok", "ok", "session_budget_exhausted", "session_budget_exhausted"]);
    expect(cached).toEqual([false, true, true, true, true]);
    await engine.close();
  });
});

describe("warden policy test policies/", () => {
  it("passes every *_test.rego suite through the CLI", async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const root = resolve(import.meta.dirname, "../..");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", join(root, "src/cli/index.ts"), "policy", "test", POLICIES],
      { cwd: root },
    );
    expect(stdout).toMatch(/^PASS: (\d+)\/\1$/m);
  });
});
