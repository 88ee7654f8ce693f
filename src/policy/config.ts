// The `policy:` section of warden.yaml.
import { z } from "zod";

const canary = z.strictObject({
  percent: z.number().min(0).max(100),
  users: z.array(z.string()).default([]),
  agents: z.array(z.string()).default([]),
  salt: z.string().default(""),
});

export const policyConfigSchema = z
  .strictObject({
    /** rego (embedded engine, default), wasm (OPA bundle / policy.wasm) or remote (OPA server). */
    backend: z.enum(["rego", "wasm", "remote"]).default("rego"),
    /** rego: .rego files/folders and data files (.json/.yaml), relative to the config file. */
    paths: z.array(z.string().min(1)).default(["policies"]),
    /** Rule path of the decision document. */
    entrypoint: z
      .string()
      .regex(/^[A-Za-z_][\w]*([./][A-Za-z_][\w]*)*$/, "a rule path like warden/decision")
      .default("warden/decision"),
    /** wasm: bundle.tar.gz from `opa build -t wasm` or a policy.wasm. */
    bundle: z.string().optional(),
    /** remote: OPA server base URL and extra headers (e.g. Authorization). */
    url: z.url().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    mode: z.enum(["off", "dry-run", "enforce", "canary"]).default("enforce"),
    canary: canary.optional(),
    failureMode: z.enum(["closed", "open"]).default("closed"),
    timeoutMs: z.number().int().positive().default(500),
    cache: z
      .strictObject({
        enabled: z.boolean().default(true),
        max: z.number().int().positive().default(1_000),
        ttlMs: z.number().int().positive().default(5_000),
      })
      .prefault({}),
    timeGranularityMs: z.number().int().positive().default(60_000),
    killSwitch: z.boolean().default(false),
    /**
     * Evaluations of a synthetic input run in the background after each (re)load, so the JIT has
     * optimized the freshly compiled policy before real calls pay for it (0 disables).
     */
    warmup: z.number().int().min(0).max(100_000).default(1000),
    /** Reload when policy files change (SIGHUP always reloads). */
    watch: z.boolean().default(true),
    /** Roles that may read and flip the kill switch through the admin API (HTTP front door). */
    adminRoles: z.array(z.string().min(1)).min(1).default(["admin"]),
    /** Hide tools from tools/list that policy would deny. */
    filterTools: z.boolean().default(true),
  })
  .superRefine((c, ctx) => {
    if (c.backend === "wasm" && !c.bundle)
      ctx.addIssue({
        code: "custom",
        message: "policy.backend 'wasm' needs policy.bundle",
        path: ["bundle"],
      });
    if (c.backend === "remote" && !c.url)
      ctx.addIssue({ code: "custom", message: "policy.backend 'remote' needs policy.url", path: ["url"] });
    if (c.mode === "canary" && !c.canary)
      ctx.addIssue({ code: "custom", message: "policy.mode 'canary' needs policy.canary", path: ["canary"] });
  });

export type PolicyConfig = z.infer<typeof policyConfigSchema>;
