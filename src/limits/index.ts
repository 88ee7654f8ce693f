// Rate limits (token buckets) and per-session call budgets.
export { type LimitSet, type LimitsConfig, limitsConfigSchema, parseLimitsConfig } from "./config.js";
export { type CounterSink, LIMIT_METRIC_HELP, LIMIT_METRICS } from "./metrics.js";
export { createLimitsStage, RateLimiter, SESSION_CALLS_FLAG } from "./stage.js";
export { TokenBucket } from "./tokenBucket.js";
