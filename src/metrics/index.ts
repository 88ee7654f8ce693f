export { LabelLimiter, OTHER_LABEL } from "./label-limiter.js";
export { WardenMetrics, type WardenMetricsOptions } from "./registry.js";
export { type MetricsServer, type MetricsServerOptions, startMetricsServer } from "./server.js";
