// The `metrics:` section of warden.yaml.
import { z } from "zod";

export const metricsConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(9464),
    path: z.string().startsWith("/").default("/metrics"),
    maxLabelValues: z.number().int().positive().default(100),
    processMetrics: z.boolean().default(true),
  })
  .prefault({});

export type MetricsConfig = z.infer<typeof metricsConfigSchema>;
