import { z } from "zod";

export const approvalConfigSchema = z
  .object({
    /**
     * auto: ask the caller through elicitation when its client supports it, else hold as pending.
     * pending: always hold for an approver (someone other than the caller).
     * elicitation: always ask the caller; clients without elicitation are refused.
     */
    mode: z.enum(["auto", "pending", "elicitation"]).default("auto"),
    /** How long a pending approval (and an approved, unused one) stays valid. */
    ttlSeconds: z.number().int().positive().default(900),
    /** How long the held call waits for a decision before answering "pending, retry". */
    holdSeconds: z.number().nonnegative().default(30),
    /** How long the caller has to answer an elicitation; no answer = denial. */
    elicitationTimeoutSeconds: z.number().positive().default(120),
    /** Whether the requester may approve their own pending call through the admin API. */
    allowSelfApproval: z.boolean().default(false),
    /** Bound on open approvals per tenant; further requests are refused. */
    maxPendingPerTenant: z.number().int().positive().default(1000),
    /** Roles allowed to decide through the admin API. */
    approverRoles: z.array(z.string().min(1)).min(1).default(["approver", "admin"]),
    /**
     * Runs the admin API on its own listener too (needed for `warden serve` over stdio, which
     * has no HTTP front door). Approver credentials come from the `auth` section.
     */
    adminServer: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(0).max(65535),
      })
      .strict()
      .optional(),
    webhook: z
      .object({
        /** Slack incoming-webhook compatible URL, or a reference `env:NAME`. */
        url: z.string().min(1),
        timeoutMs: z.number().int().positive().default(5000),
        /** Link shown in the message (e.g. the admin UI or API base). */
        adminUrl: z.string().url().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ApprovalConfig = z.infer<typeof approvalConfigSchema>;

export function parseApprovalConfig(input: unknown): ApprovalConfig {
  const r = approvalConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new Error(`invalid approval config: ${detail}`);
  }
  return r.data;
}
