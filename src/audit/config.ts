// The `audit:` section of warden.yaml.
import { z } from "zod";

export const auditConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Active ledger file, relative to the config file. */
    path: z.string().min(1).default(".warden/audit.jsonl"),
    durability: z.enum(["fsync", "write"]).default("write"),
    rotateBytes: z
      .number()
      .int()
      .nonnegative()
      .default(64 * 1024 * 1024),
    /** Environment variable holding the arguments-HMAC key; else a 0600 key file beside the ledger. */
    keyEnv: z.string().default("WARDEN_AUDIT_KEY"),
    /** Environments whose raw arguments are stored (opt-in; default none: hashes only). */
    rawArgumentsIn: z.array(z.string()).default([]),
  })
  .prefault({});

export type AuditConfig = z.infer<typeof auditConfigSchema>;
