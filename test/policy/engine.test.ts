import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WardenMetrics } from "../../src/metrics/registry.js";
import { StageRefusal } from "../../src/pipeline/types.js";
import { functionBackend, type PolicyBackend } from "../../src/policy/backend.js";
import { DEFAULT_DENY_REASON } from "../../src/policy/decision.js";
import { PolicyEngine } from "../../src/policy/engine.js";
import type { DecisionInput } from "../../src/policy/input.js";
import { canaryBucket } from "../../src/policy/modes.js";
import { policyStage } from "../../src/policy/stage.js";
import { makeCtx } from "./helpers.js";

const dangerous = (input: DecisionInput) => JSON.stringify(input.request.arguments).includes("rm -rf");
const simple = functionBackend((input) => ({
  allow: input.request.tool === "read_file" || input.request.tool === "write_file",
  deny: dangerous(input) ? ["dangerous argument: rm -rf"] : [],
  require_approval: input.registry?.risk === "high",
}));

async function counter(
  metrics: WardenMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe("PolicyEngine decisions", () => {
  it("allows what policy allows and denies by default", async () => {
    const e = new PolicyEngine({ backend: simple });
    await e.start();
    const ok = await e.evaluate(makeCtx());
    expect(ok.outcome).toBe("allow");
    expect(ok.decision.allow).toBe(true);
    expect(ok.decision.policyVersion).toBe("function");
    const other = await e.evaluate(makeCtx({ tool: "delete_everything" }));
    expect(other.outcome).toBe("deny");
    expect(other.decision.reasons).toEqual([DEFAULT_DENY_REASON]);
  });

  it("deny wins over allow", async () => {
    const e = new PolicyEngine({ backend: simple });
    await e.start();
    const r = await e.evaluate(makeCtx({ args: { path: "x; rm -rf /" } }));
    expect(r.outcome).toBe("deny");
    expect(r.decision.reasons).toEqual(["dangerous argument: rm -rf"]);
  });

  it("requires approval when policy says so", async () => {
    const e = new PolicyEngine({ backend: simple });
    await e.start();
    const r = await e.evaluate(makeCtx({ meta: { risk: "high", labels: [], requiresApproval: true } }));
    expect(r.outcome).toBe("approval_required");
    expect(r.decision.requireApproval).toBe(true);
  });

  it("treats conflicting and ill-typed documents as errors handled by the failure mode", async () => {
    const metrics = new WardenMetrics({ processMetrics: false });
    const conflicting = functionBackend(() => [{ result: { allow: true } }, { result: { allow: false } }]);
    const closed = new PolicyEngine({ backend: conflicting, metrics });
    await closed.start();
    const r = await closed.evaluate(makeCtx());
    expect(r.outcome).toBe("deny");
    expect(r.fallback?.kind).toBe("conflict");
    expect(r.decision.reasons[0]).toMatch(/conflict.*fail-closed/);
    expect(
      await counter(metrics, "policy_fallbacks_total", { kind: "conflict", failure_mode: "closed" }),
    ).toBe(1);

    const illTyped = functionBackend(() => ({ allow: "yes" }));
    const open = new PolicyEngine({ backend: illTyped, failureMode: "open" });
    await open.start();
    const o = await open.evaluate(makeCtx());
    expect(o.outcome).toBe("allow");
    expect(o.fallback).toMatchObject({ kind: "invalid", failureMode: "open" });
    expect(o.decision.auditTags).toContain("fail_open");
  });

  it("turns engine errors and timeouts into fallbacks", async () => {
    const throwing = new PolicyEngine({
      backend: functionBackend(() => {
        throw new Error("boom");
      }),
    });
    await throwing.start();
    expect((await throwing.evaluate(makeCtx())).fallback).toMatchObject({ kind: "error", message: "boom" });

    const slow = new PolicyEngine({
      backend: functionBackend(() => new Promise((r) => setTimeout(() => r({ allow: true }), 2_000))),
      timeoutMs: 20,
      failureMode: "open",
    });
    await slow.start();
    const t = await slow.evaluate(makeCtx());
    expect(t.fallback?.kind).toBe("timeout");
    expect(t.decision.allow).toBe(true);
  });

  it("answers by failure mode when no policy is loaded", async () => {
    const broken: PolicyBackend = {
      kind: "broken",
      load: () => Promise.reject(new Error("syntax error at line 3")),
    };
    const e = new PolicyEngine({ backend: broken });
    await expect(e.start()).rejects.toThrow(/syntax error at line 3/);
    const r = await e.evaluate(makeCtx());
    expect(r.outcome).toBe("deny");
    expect(r.fallback?.kind).toBe("unavailable");
  });
});

describe("modes, canary and kill switch", () => {
  it("off skips evaluation; dry-run lets denials through but records them", async () => {
    let calls = 0;
    const backend = functionBackend(() => {
      calls++;
      return { allow: false, reasons: ["nope"] };
    });
    const off = new PolicyEngine({ backend, mode: "off" });
    await off.start();
    expect((await off.evaluate(makeCtx())).outcome).toBe("off");
    expect(calls).toBe(0);

    const dry = new PolicyEngine({ backend, mode: "dry-run" });
    await dry.start();
    const r = await dry.evaluate(makeCtx());
    expect(r.outcome).toBe("would_deny");
    expect(r.decision.allow).toBe(true);
    expect(r.decision.auditTags).toContain("would_deny");
    expect(r.decision.reasons).toEqual(["nope"]);
    expect(r.effectiveMode).toBe("dry-run");
  });

  it("canary enforces for a stable share of users plus listed users and agents", async () => {
    const backend = functionBackend(() => ({ allow: false }));
    const e = new PolicyEngine({
      backend,
      mode: "canary",
      canary: { percent: 30, users: ["vip"], agents: ["ci-bot"], salt: "s1" },
    });
    await e.start();
    const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const modes = await Promise.all(
      users.map(async (u) => (await e.evaluate(makeCtx({ user: u }))).effectiveMode),
    );
    const enforced = modes.filter((m) => m === "enforce").length;
    // Exactly the users whose stable bucket is below 30.
    expect(enforced).toBe(users.filter((u) => canaryBucket("acme", u, "s1") < 30).length);
    expect(enforced).toBeGreaterThan(80);
    expect(enforced).toBeLessThan(160);
    // Stable: same answer again.
    expect((await e.evaluate(makeCtx({ user: users[0] }))).effectiveMode).toBe(modes[0]);
    const vipBucket = canaryBucket("acme", "vip", "s1");
    expect((await e.evaluate(makeCtx({ user: "vip" }))).effectiveMode).toBe("enforce");
    expect(vipBucket).toBeTypeOf("number");
    const outsider = users.find((u) => canaryBucket("acme", u, "s1") >= 30) as string;
    expect((await e.evaluate(makeCtx({ user: outsider }))).effectiveMode).toBe("dry-run");
    expect((await e.evaluate(makeCtx({ user: outsider, client: "ci-bot" }))).effectiveMode).toBe("enforce");
  });

  it("kill switch forces dry-run and shows in metrics and audit", async () => {
    const metrics = new WardenMetrics({ processMetrics: false });
    const audited: unknown[] = [];
    const e = new PolicyEngine({
      backend: functionBackend(() => ({ allow: false })),
      metrics,
      audit: (x) => audited.push(x),
    });
    await e.start();
    expect((await e.evaluate(makeCtx())).outcome).toBe("deny");
    e.setKillSwitch(true, "test");
    expect(await counter(metrics, "policy_kill_switch")).toBe(1);
    const r = await e.evaluate(makeCtx());
    expect(r.outcome).toBe("would_deny");
    expect(r.effectiveMode).toBe("dry-run");
    expect(audited).toContainEqual(expect.objectContaining({ event: "policy", decision: "kill_switch_on" }));
    e.setKillSwitch(false);
    expect(await counter(metrics, "policy_kill_switch")).toBe(0);
    expect((await e.evaluate(makeCtx())).outcome).toBe("deny");
  });

  it("SIGUSR2 toggles the kill switch and SIGHUP reloads", async () => {
    let v = 0;
    const backend: PolicyBackend = {
      kind: "counting",
      load: async () => ({ version: `v${++v}`, evaluate: () => ({ allow: true }) }),
    };
    const e = new PolicyEngine({ backend });
    await e.start();
    const dispose = e.handleSignals();
    try {
      process.kill(process.pid, "SIGUSR2");
      await new Promise((r) => setTimeout(r, 50));
      expect(e.killSwitch).toBe(true);
      process.kill(process.pid, "SIGHUP");
      await new Promise((r) => setTimeout(r, 50));
      expect(e.version).toBe("v2");
    } finally {
      dispose();
    }
  });
});

describe("decision cache", () => {
  it("hits only for identical inputs, and is dropped on reload", async () => {
    const metrics = new WardenMetrics({ processMetrics: false });
    let evals = 0;
    let version = 0;
    const backend: PolicyBackend = {
      kind: "counting",
      load: async () => ({
        version: `v${++version}`,
        evaluate: (input) => {
          evals++;
          return { allow: input.subject.user !== "mallory" };
        },
      }),
    };
    const e = new PolicyEngine({ backend, metrics });
    await e.start();
    await e.evaluate(makeCtx());
    const second = await e.evaluate(makeCtx());
    expect(second.cached).toBe(true);
    expect(evals).toBe(1);
    // Every field the decision may depend on is in the key: user, args, session counters, findings, env.
    expect((await e.evaluate(makeCtx({ user: "mallory" }))).decision.allow).toBe(false);
    await e.evaluate(makeCtx({ args: { path: "/other" } }));
    await e.evaluate(makeCtx({ calls: 7 }));
    await e.evaluate(makeCtx({ environment: "prod" }));
    const withFinding = makeCtx();
    withFinding.findings.push({
      detector: "secrets",
      kind: "aws_key",
      score: 1,
      location: "/path",
      direction: "in",
    });
    await e.evaluate(withFinding);
    expect(evals).toBe(6);
    expect(await counter(metrics, "policy_cache_hits_total")).toBe(1);
    expect(await counter(metrics, "policy_cache_misses_total")).toBe(6);
    await e.reload();
    const after = await e.evaluate(makeCtx());
    expect(after.cached).toBe(false);
    expect(after.policyVersion).toBe("v2");
  });
});

describe("reload", () => {
  it("keeps the last good policy when a reload is broken, and says so", async () => {
    const dir = await mkdtemp(join(tmpdir(), "warden-reload-"));
    const file = join(dir, "policy.json");
    await writeFile(file, JSON.stringify({ allowTools: ["read_file"] }));
    const metrics = new WardenMetrics({ processMetrics: false });
    const { readFile } = await import("node:fs/promises");
    const backend: PolicyBackend = {
      kind: "json",
      watchPaths: () => [file],
      async load() {
        const text = await readFile(file, "utf8");
        const doc = JSON.parse(text) as { allowTools: string[] };
        return {
          version: text.length.toString(),
          evaluate: (input) => ({ allow: doc.allowTools.includes(input.request.tool ?? "") }),
        };
      },
    };
    const e = new PolicyEngine({ backend, metrics, reloadDebounceMs: 20 });
    await e.start();
    e.watchFiles();
    try {
      expect((await e.evaluate(makeCtx({ tool: "write_file" }))).decision.allow).toBe(false);
      await writeFile(file, JSON.stringify({ allowTools: ["read_file", "write_file"] }));
      await expect
        .poll(async () => (await e.evaluate(makeCtx({ tool: "write_file" }))).decision.allow, {
          timeout: 10_000,
        })
        .toBe(true);
      const good = e.version;
      await writeFile(file, "{ not json");
      await expect.poll(() => counter(metrics, "policy_reload_failures_total"), { timeout: 10_000 }).toBe(1);
      expect(e.version).toBe(good);
      expect(e.status().lastReloadError?.message).toMatch(/JSON/);
      expect((await e.evaluate(makeCtx({ tool: "write_file" }))).decision.allow).toBe(true);
    } finally {
      await e.close();
    }
  });
});

describe("policy stage", () => {
  it("sets ctx.decision, refuses denials in enforce and hides denied tools", async () => {
    const e = new PolicyEngine({ backend: simple });
    await e.start();
    const stage = policyStage(e);
    const ctx = makeCtx();
    await stage.before?.(ctx);
    expect(ctx.decision?.allow).toBe(true);
    const bad = makeCtx({ args: { cmd: "rm -rf /" } });
    const err = await Promise.resolve(stage.before?.(bad)).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(StageRefusal);
    expect((err as StageRefusal).stage).toBe("policy");
    expect((err as StageRefusal).message).toContain("dangerous argument: rm -rf");
    const listed = await stage.filterTools?.(
      { environment: "dev", subject: makeCtx().subject, session: makeCtx().session, server: "fs" },
      [
        { name: "fs__read_file", inputSchema: {} },
        { name: "fs__delete_everything", inputSchema: {} },
      ],
    );
    expect(listed?.map((t) => t.name)).toEqual(["fs__read_file"]);
    // Methods outside the governed set are not decided.
    const ping = makeCtx({ method: "ping" });
    await stage.before?.(ping);
    expect(ping.decision).toBeUndefined();
  });
});

describe("warm-up", () => {
  /** A synchronous backend that counts evaluations per user. */
  function countingBackend() {
    const seen = { warmup: 0, real: 0 };
    let loads = 0;
    const backend: PolicyBackend = {
      kind: "counting",
      load: async () => ({
        version: `v${++loads}`,
        synchronous: true,
        evaluate: (input: DecisionInput) => {
          if (input.subject.user === "warden-warmup") seen.warmup++;
          else seen.real++;
          return { allow: true };
        },
      }),
    };
    return { backend, seen };
  }

  it("evaluates a synthetic input in the background after each load, off the books", async () => {
    const { backend, seen } = countingBackend();
    const metrics = new WardenMetrics({ processMetrics: false });
    const audited: unknown[] = [];
    const e = new PolicyEngine({ backend, warmup: 60, metrics, audit: (x) => audited.push(x) });
    await e.start();
    expect(seen.warmup).toBe(0); // not on the load path: startup is not delayed
    await expect.poll(() => seen.warmup).toBe(60);
    expect(seen.real).toBe(0);
    expect(await counter(metrics, "policy_evaluations_total", { backend: "counting" })).toBe(0);
    expect(audited).toHaveLength(1); // only the "loaded" event
    const ev = await e.evaluate(makeCtx());
    expect(ev.cached).toBe(false); // warm-up results never enter the decision cache
    expect(seen.real).toBe(1);
    await e.reload("test");
    await expect.poll(() => seen.warmup).toBe(120); // a fresh compile is warmed again
    await e.close();
  });

  it("stops when the engine closes and is off by default", async () => {
    const a = countingBackend();
    const e = new PolicyEngine({ backend: a.backend, warmup: 100_000 });
    await e.start();
    await e.close();
    const after = a.seen.warmup;
    await new Promise((r) => setTimeout(r, 50));
    expect(a.seen.warmup).toBe(after);
    expect(after).toBeLessThan(100_000);
    const b = countingBackend();
    const off = new PolicyEngine({ backend: b.backend });
    await off.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(b.seen.warmup).toBe(0);
    await off.close();
  });
});
