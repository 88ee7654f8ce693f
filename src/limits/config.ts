import { z } from "zod";

// Rate limits and budgets. Select a set per environment (e.g. `environments.prod`);
// policy obligations `{type: "rate_limit", scope, limit, per, burst?}` tighten them per call.

export const rateSchema = z
  .object({
    /** Calls allowed per `per` window on average. */
    limit: z.number().positive(),
    /** Window: seconds, or "second" | "minute" | "hour" | "day". */
    per: z.union([z.number().positive(), z.enum(["second", "minute", "hour", "day"])]).default("minute"),
    /** Bucket size (burst); defaults to `limit`. */
    burst: z.number().positive().optional(),
  })
  .strict();

export const limitSetSchema = z
  .object({
    global: rateSchema.optional(),
    perTenant: rateSchema.optional(),
    perSubject: rateSchema.optional(),
    /** Per tool for each subject; key "*" applies to every tool, "server/tool" or "tool" to one. */
    perTool: z.record(z.string(), rateSchema).default({}),
    /** Maximum tools/call per session (runaway agent loops). */
    sessionCallBudget: z.number().int().positive().optional(),
  })
  .strict();

export const limitsConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    default: limitSetSchema.default({ perTool: {} }),
    /** Overrides by environment name; a named set replaces the default set. */
    environments: z.record(z.string(), limitSetSchema).default({}),
    /** Upper bound of buckets kept in memory (idle full buckets are swept first). */
    maxBuckets: z.number().int().positive().default(100_000),
  })
  .strict();

export type Rate = z.infer<typeof rateSchema>;
export type LimitSet = z.infer<typeof limitSetSchema>;
export type LimitsConfig = z.infer<typeof limitsConfigSchema>;

const PER_SECONDS = { second: 1, minute: 60, hour: 3600, day: 86_400 } as const;

export function windowSeconds(per: Rate["per"]): number {
  return typeof per === "number" ? per : PER_SECONDS[per];
}

export function parseLimitsConfig(input: unknown): LimitsConfig {
  const r = limitsConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`invalid limits config: ${detail}`);
  }
  return r.data;
}
