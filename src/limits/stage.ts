import type { CallContext, Obligation, Stage } from "../pipeline/types.js";
import { StageRefusal } from "../pipeline/types.js";
import { type LimitSet, type LimitsConfig, type Rate, windowSeconds } from "./config.js";
import { type CounterSink, LIMIT_METRICS } from "./metrics.js";
import { TokenBucket } from "./tokenBucket.js";

// The limits stage: token buckets per global / tenant / subject / tool, plus per-session
// call budgets, plus `rate_limit` obligations from policy. Place it after the policy stage
// so obligations are visible and denied calls spend no tokens. Refusals carry
// `retryAfterSeconds` in the error data.

const GOVERNED = new Set(["tools/call", "resources/read", "prompts/get"]);
export const SESSION_CALLS_FLAG = "limits.sessionCalls";

export interface LimitsStageOptions {
  metrics?: CounterSink;
  /** Clock in ms (tests inject a fake one). */
  now?: () => number;
}

interface Need {
  scope: string;
  key: string;
  rate: Rate;
}

const NO_NEEDS: readonly Need[] = Object.freeze([]);

/** Whether `o` has an own enumerable key (without building a key array). */
function hasKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

function ratePerSecond(rate: Rate): number {
  return rate.limit / windowSeconds(rate.per);
}

function obligationRate(o: Obligation): Rate | undefined {
  const limit = Number(o.limit);
  if (!Number.isFinite(limit) || limit <= 0) return undefined;
  const per = o.per ?? "minute";
  const perOk =
    (typeof per === "number" && per > 0) ||
    (typeof per === "string" && ["second", "minute", "hour", "day"].includes(per));
  if (!perOk) return undefined;
  const burst = o.burst === undefined ? undefined : Number(o.burst);
  return { limit, per: per as Rate["per"], ...(burst && burst > 0 ? { burst } : {}) };
}

export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;

  constructor(
    private readonly config: LimitsConfig,
    private readonly metrics?: CounterSink,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  limitSet(environment: string): LimitSet {
    return this.config.environments[environment] ?? this.config.default;
  }

  private bucket(key: string, rate: Rate, t: number): TokenBucket {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.config.maxBuckets) this.sweep(t);
      b = new TokenBucket(rate.burst ?? rate.limit, ratePerSecond(rate), t);
      this.buckets.set(key, b);
    }
    return b;
  }

  /** Drops full (idle) buckets; if memory is still at the bound, the oldest ones. */
  private sweep(t: number): void {
    for (const [k, b] of this.buckets) if (b.isIdle(t)) this.buckets.delete(k);
    const excess = this.buckets.size - Math.floor(this.config.maxBuckets * 0.9);
    if (excess > 0) {
      let n = 0;
      for (const k of this.buckets.keys()) {
        if (n++ >= excess) break;
        this.buckets.delete(k);
      }
    }
  }

  /** The buckets a call draws from (none, without allocating, when nothing applies to it). */
  needs(ctx: CallContext): readonly Need[] {
    const set = this.limitSet(ctx.environment);
    const obligations = ctx.decision?.obligations;
    // The usual case without limits configured: no key strings or array per call.
    if (!set.global && !set.perTenant && !set.perSubject && !hasKeys(set.perTool) && !obligations?.length)
      return NO_NEEDS;
    const s = ctx.subject;
    const who = `${s.tenant}\u0000${s.user}`;
    const tool = `${ctx.server ?? ""}/${ctx.tool ?? ctx.uri ?? ""}`;
    const out: Need[] = [];
    if (set.global) out.push({ scope: "global", key: "g", rate: set.global });
    if (set.perTenant) out.push({ scope: "tenant", key: `t\u0000${s.tenant}`, rate: set.perTenant });
    if (set.perSubject) out.push({ scope: "subject", key: `s\u0000${who}`, rate: set.perSubject });
    const toolRate = set.perTool[tool] ?? (ctx.tool ? set.perTool[ctx.tool] : undefined) ?? set.perTool["*"];
    if (toolRate) out.push({ scope: "tool", key: `x\u0000${who}\u0000${tool}`, rate: toolRate });
    for (const o of obligations ?? []) {
      if (o.type !== "rate_limit") continue;
      const rate = obligationRate(o);
      if (!rate) continue;
      const scope = typeof o.scope === "string" ? o.scope : "subject";
      const id =
        scope === "global"
          ? ""
          : scope === "tenant"
            ? s.tenant
            : scope === "tool"
              ? `${who}\u0000${tool}`
              : scope === "session"
                ? ctx.session.id
                : who;
      const shape = `${rate.limit}/${String(rate.per)}/${rate.burst ?? ""}`;
      out.push({ scope: "obligation", key: `o\u0000${scope}\u0000${id}\u0000${shape}`, rate });
    }
    return out;
  }

  /** Takes one token from every applicable bucket, or none; returns the refusal when over. */
  check(ctx: CallContext): { scope: string; retryAfterSeconds: number } | undefined {
    const needs = this.needs(ctx);
    if (needs.length === 0) return undefined;
    const t = this.now();
    let worst: { scope: string; retryAfterSeconds: number } | undefined;
    const buckets: TokenBucket[] = [];
    for (const n of needs) {
      const b = this.bucket(n.key, n.rate, t);
      buckets.push(b);
      const wait = b.waitSeconds(t);
      if (wait > 0 && (!worst || wait > worst.retryAfterSeconds))
        worst = { scope: n.scope, retryAfterSeconds: wait };
    }
    if (worst) {
      this.metrics?.inc(LIMIT_METRICS.rejected, { scope: worst.scope });
      return { scope: worst.scope, retryAfterSeconds: Math.max(1, Math.ceil(worst.retryAfterSeconds)) };
    }
    for (const b of buckets) b.take(t);
    return undefined;
  }

  get bucketCount(): number {
    return this.buckets.size;
  }
}

function sessionBudget(set: LimitSet, ctx: CallContext): number | undefined {
  let budget = set.sessionCallBudget;
  const obligations = ctx.decision?.obligations;
  if (!obligations) return budget;
  for (const o of obligations) {
    if (o.type !== "session_budget" && !(o.type === "rate_limit" && o.sessionCallBudget !== undefined))
      continue;
    const n = Number(o.type === "session_budget" ? o.calls : o.sessionCallBudget);
    if (Number.isInteger(n) && n > 0) budget = budget === undefined ? n : Math.min(budget, n);
  }
  return budget;
}

export function createLimitsStage(
  config: LimitsConfig,
  opts: LimitsStageOptions = {},
): Stage & { limiter: RateLimiter } {
  const limiter = new RateLimiter(config, opts.metrics, opts.now);
  return {
    name: "limits",
    // Routing facts, subject, session and decision only: a tools/call may be forwarded as bytes.
    reads: { methods: [...GOVERNED], params: false },
    limiter,
    before(ctx) {
      if (!config.enabled || !GOVERNED.has(ctx.method)) return;
      if (ctx.method === "tools/call") {
        const budget = sessionBudget(limiter.limitSet(ctx.environment), ctx);
        const used = Number(ctx.session.flags[SESSION_CALLS_FLAG] ?? 0);
        if (budget !== undefined && used >= budget) {
          opts.metrics?.inc(LIMIT_METRICS.budgetExhausted, {});
          throw new StageRefusal(
            "limits",
            `session call budget exhausted: ${used} of ${budget} tool calls used; start a new session`,
            -32001,
            { reason: "session_budget_exhausted", budget, used },
          );
        }
      }
      const over = limiter.check(ctx);
      if (over) {
        throw new StageRefusal(
          "limits",
          `rate limit exceeded (${over.scope}); retry in ${over.retryAfterSeconds} s`,
          -32001,
          { reason: "rate_limited", scope: over.scope, retryAfterSeconds: over.retryAfterSeconds },
        );
      }
      if (ctx.method === "tools/call") {
        ctx.session.flags[SESSION_CALLS_FLAG] = Number(ctx.session.flags[SESSION_CALLS_FLAG] ?? 0) + 1;
      }
      opts.metrics?.inc(LIMIT_METRICS.allowed, {});
    },
  };
}
