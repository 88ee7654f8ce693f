import { describe, expect, it } from "vitest";
import { parseLimitsConfig } from "../../src/limits/config.js";
import { createLimitsStage } from "../../src/limits/stage.js";
import { StageRefusal } from "../../src/pipeline/types.js";
import { makeContext } from "./context.js";

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function refusal(run: () => unknown): Promise<StageRefusal> {
  try {
    await run();
  } catch (e) {
    if (e instanceof StageRefusal) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("limits stage", () => {
  it("refuses over the per-subject limit with retry-after, then recovers", async () => {
    const c = clock();
    const counts: string[] = [];
    const stage = createLimitsStage(
      parseLimitsConfig({ default: { perSubject: { limit: 2, per: "second" } } }),
      {
        now: c.now,
        metrics: { inc: (n, l) => counts.push(`${n}:${JSON.stringify(l)}`) },
      },
    );
    await stage.before?.(makeContext());
    await stage.before?.(makeContext());
    const r = await refusal(() => stage.before?.(makeContext()));
    expect(r.stage).toBe("limits");
    expect(r.data).toMatchObject({ reason: "rate_limited", scope: "subject", retryAfterSeconds: 1 });
    // another subject is unaffected
    await stage.before?.(makeContext({ subject: { user: "bob" } }));
    c.advance(500);
    await stage.before?.(makeContext());
    expect(counts).toContain('rate_limit_rejections_total:{"scope":"subject"}');
  });

  it("applies tenant, global and per-tool limits, and per-environment sets", async () => {
    const c = clock();
    const stage = createLimitsStage(
      parseLimitsConfig({
        default: { perTool: { "everything/echo": { limit: 1, per: "minute" } } },
        environments: { prod: { perTenant: { limit: 1, per: "hour" } } },
      }),
      { now: c.now },
    );
    await stage.before?.(makeContext());
    const r = await refusal(() => stage.before?.(makeContext()));
    expect(r.data).toMatchObject({ scope: "tool", retryAfterSeconds: 60 });
    await stage.before?.(makeContext({ tool: "add" }));
    await stage.before?.(makeContext({ environment: "prod" }));
    const p = await refusal(() =>
      stage.before?.(makeContext({ environment: "prod", subject: { user: "bob" } })),
    );
    expect(p.data).toMatchObject({ scope: "tenant", retryAfterSeconds: 3600 });
    await stage.before?.(makeContext({ environment: "prod", subject: { tenant: "other" } }));
  });

  it("a refused call spends no tokens in other buckets", async () => {
    const c = clock();
    const stage = createLimitsStage(
      parseLimitsConfig({
        default: { perSubject: { limit: 10, per: "second" }, perTool: { echo: { limit: 1, per: "second" } } },
      }),
      { now: c.now },
    );
    await stage.before?.(makeContext());
    for (let i = 0; i < 5; i++) await refusal(() => stage.before?.(makeContext()));
    for (let i = 0; i < 9; i++) await stage.before?.(makeContext({ tool: "add" }));
  });

  it("tightens limits from policy rate_limit obligations", async () => {
    const c = clock();
    const stage = createLimitsStage(parseLimitsConfig({}), { now: c.now });
    const decision = {
      allow: true,
      reasons: [],
      requireApproval: false,
      auditTags: [],
      obligations: [{ type: "rate_limit", scope: "tenant", limit: 1, per: 10 }],
    };
    await stage.before?.(makeContext({ decision }));
    const r = await refusal(() => stage.before?.(makeContext({ decision, subject: { user: "bob" } })));
    expect(r.data).toMatchObject({ scope: "obligation", retryAfterSeconds: 10 });
    // malformed obligations are ignored, not crashes
    await stage.before?.(
      makeContext({ decision: { ...decision, obligations: [{ type: "rate_limit", limit: "x" }] } }),
    );
  });

  it("stops runaway loops with a per-session call budget", async () => {
    const stage = createLimitsStage(parseLimitsConfig({ default: { sessionCallBudget: 3 } }));
    const session = { id: "loop", callCount: 0, toolsCalled: [], flags: {} };
    for (let i = 0; i < 3; i++) await stage.before?.(makeContext({ session }));
    const r = await refusal(() => stage.before?.(makeContext({ session })));
    expect(r.data).toMatchObject({ reason: "session_budget_exhausted", budget: 3, used: 3 });
    // tools/list is not a call and stays available
    await stage.before?.(makeContext({ session, method: "tools/list" }));
    await stage.before?.(makeContext({ session: { id: "fresh", callCount: 0, toolsCalled: [], flags: {} } }));
  });

  it("with no limits configured, counts calls but draws from no bucket", async () => {
    const stage = createLimitsStage(parseLimitsConfig({}));
    const session = { id: "s", callCount: 0, toolsCalled: [], flags: {} };
    for (let i = 0; i < 50; i++) await stage.before?.(makeContext({ session }));
    expect(stage.limiter.bucketCount).toBe(0);
    expect(stage.limiter.needs(makeContext())).toEqual([]);
    expect(session.flags).toEqual({ "limits.sessionCalls": 50 });
    // An obligation alone still applies (no configured limit is needed for it).
    const decision = {
      allow: true,
      reasons: [],
      requireApproval: false,
      auditTags: [],
      obligations: [{ type: "rate_limit", scope: "global", limit: 1, per: 60 }],
    };
    await stage.before?.(makeContext({ decision }));
    expect(stage.limiter.bucketCount).toBe(1);
    const r = await refusal(() => stage.before?.(makeContext({ decision })));
    expect(r.data).toMatchObject({ scope: "obligation", retryAfterSeconds: 60 });
  });

  it("rejects bad config with a clear error", () => {
    expect(() => parseLimitsConfig({ default: { perSubject: { limit: -1 } } })).toThrow(/perSubject.limit/);
    expect(() => parseLimitsConfig({ default: { perSubject: { limit: 1, per: "fortnight" } } })).toThrow(
      /per/,
    );
  });

  it("keeps bucket memory bounded", async () => {
    const c = clock();
    const stage = createLimitsStage(
      parseLimitsConfig({ maxBuckets: 100, default: { perSubject: { limit: 5, per: "second" } } }),
      { now: c.now },
    );
    for (let i = 0; i < 1000; i++) await stage.before?.(makeContext({ subject: { user: `u${i}` } }));
    expect(stage.limiter.bucketCount).toBeLessThanOrEqual(100);
  });
});
