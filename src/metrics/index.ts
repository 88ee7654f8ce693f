export { LabelLimiter, OTHER_LABEL } from "./label-limiter.js";
export { WardenMetrics, type WardenMetricsOptions } from "./registry.js";
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from "./server.js";
