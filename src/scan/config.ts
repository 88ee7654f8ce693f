// Scanner configuration: which detectors run, thresholds, allow-lists, default obligations and
// tool-definition pinning, with per-environment and per-tool overrides. Config, not code.
import picomatch from "picomatch";
import { z } from "zod";
import { registerConfigSection } from "../config/schema.js";
import { PII_TYPES } from "./detectors/pii.js";

const obligationSchema = z.object({ type: z.string() }).catchall(z.unknown());

const detectorsSchema = z.object({
  injection: z
    .object({
      enabled: z.boolean().default(true),
      /** Score at or above which an injection finding is reported, per kind of text. */
      threshold: z
        .object({
          argument: z.number().min(0).max(1).default(0.5),
          tool_output: z.number().min(0).max(1).default(0.4),
          tool_definition: z.number().min(0).max(1).default(0.5),
        })
        .prefault({}),
      /** Decode base64 / hex / url-encoded runs and scan what they hide. */
      decodePayloads: z.boolean().default(true),
    })
    .prefault({}),
  secrets: z
    .object({
      enabled: z.boolean().default(true),
      minScore: z.number().min(0).max(1).default(0.5),
      /** Exact values that are never reported (e.g. a published test key). */
      allow: z.array(z.string()).default([]),
      /** Minimum Shannon entropy (bits/char) for generic `name = value` secrets. */
      minEntropy: z.number().min(0).max(8).default(3),
    })
    .prefault({}),
  pii: z
    .object({
      enabled: z.boolean().default(true),
      types: z.array(z.enum(PII_TYPES)).default([...PII_TYPES]),
      minScore: z.number().min(0).max(1).default(0.5),
      allow: z.array(z.string()).default([]),
      /** Region for phone numbers written without a +country prefix (ISO 3166 alpha-2). */
      defaultRegion: z.string().length(2).default("US"),
    })
    .prefault({}),
  toolPoisoning: z
    .object({
      enabled: z.boolean().default(true),
      threshold: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
});

// Overrides name only what they change: no defaults here, so an environment that sets one
// threshold keeps the others from the base config.
const score = z.number().min(0).max(1);
const overrideSchema = z.object({
  detectors: z
    .object({
      injection: z
        .object({
          enabled: z.boolean(),
          threshold: z.object({ argument: score, tool_output: score, tool_definition: score }).partial(),
          decodePayloads: z.boolean(),
        })
        .partial(),
      secrets: z
        .object({
          enabled: z.boolean(),
          minScore: score,
          allow: z.array(z.string()),
          minEntropy: z.number().min(0).max(8),
        })
        .partial(),
      pii: z
        .object({
          enabled: z.boolean(),
          types: z.array(z.enum(PII_TYPES)),
          minScore: score,
          allow: z.array(z.string()),
          defaultRegion: z.string().length(2),
        })
        .partial(),
      toolPoisoning: z.object({ enabled: z.boolean(), threshold: score }).partial(),
    })
    .partial()
    .optional(),
  maxBytes: z.number().int().positive().optional(),
  obligations: z
    .object({ in: z.array(obligationSchema), out: z.array(obligationSchema) })
    .partial()
    .optional(),
  enabled: z.boolean().optional(),
});

export const scanConfigSchema = z.object({
  enabled: z.boolean().default(true),
  detectors: detectorsSchema.prefault({}),
  /** Bytes of string content scanned per document; beyond it a `scanner/budget_exceeded` finding is added. */
  maxBytes: z.number().int().positive().default(1_048_576),
  /** Obligations executed on every call in addition to those policy returns. */
  obligations: z
    .object({
      in: z.array(obligationSchema).default([]),
      out: z.array(obligationSchema).default([{ type: "redact", detectors: ["secrets"] }]),
    })
    .prefault({}),
  /** Tool-definition pinning (rug-pull detection) and cross-server shadowing. */
  pins: z
    .object({
      enabled: z.boolean().default(true),
      /** Directory holding tool-pins.json. */
      stateDir: z.string().default(".warden"),
      /** What to do with a tool whose definition changed since it was pinned. */
      onChange: z.enum(["hide", "report"]).default("hide"),
      /** What to do with a poisoned tool definition. */
      onPoisoned: z.enum(["hide", "report"]).default("hide"),
      /** What to do with a tool that shadows another server's tool. */
      onShadowing: z.enum(["hide", "report"]).default("report"),
    })
    .prefault({}),
  /** Overrides per environment name. */
  environments: z.record(z.string(), overrideSchema).default({}),
  /** Overrides per tool, keyed by a glob over `server/tool` or the exposed tool name. */
  tools: z.record(z.string(), overrideSchema).default({}),
});

export type ScanConfig = z.infer<typeof scanConfigSchema>;
type Override = z.infer<typeof overrideSchema>;

/** Parses user config; throws a ZodError naming the bad field. */
export function parseScanConfig(input: unknown): ScanConfig {
  return scanConfigSchema.parse(input ?? {});
}

/** The effective config for one call: base, then the environment override, then matching tool overrides. */
export function resolveScanConfig(
  config: ScanConfig,
  environment?: string,
  toolKeys: string[] = [],
): ScanConfig {
  let out = config;
  const env = environment ? config.environments[environment] : undefined;
  if (env) out = applyOverride(out, env);
  for (const [glob, override] of Object.entries(config.tools)) {
    const isMatch = picomatch(glob);
    if (toolKeys.some((k) => isMatch(k))) out = applyOverride(out, override);
  }
  return out;
}

function applyOverride(base: ScanConfig, o: Override): ScanConfig {
  const d = o.detectors ?? {};
  return {
    ...base,
    enabled: o.enabled ?? base.enabled,
    maxBytes: o.maxBytes ?? base.maxBytes,
    detectors: {
      injection: {
        ...base.detectors.injection,
        ...d.injection,
        threshold: { ...base.detectors.injection.threshold, ...d.injection?.threshold },
      },
      secrets: { ...base.detectors.secrets, ...d.secrets },
      pii: { ...base.detectors.pii, ...d.pii },
      toolPoisoning: { ...base.detectors.toolPoisoning, ...d.toolPoisoning },
    },
    obligations: {
      in: o.obligations?.in ?? base.obligations.in,
      out: o.obligations?.out ?? base.obligations.out,
    },
  };
}

// `scan:` in warden.yaml is validated with the rest of the file (`warden config check`).
registerConfigSection("scan", scanConfigSchema);
