// The scan stage: arguments in `before`, results in `after` (then the redaction / drop / block
// obligations from policy and config), tool definitions in `filterTools` (poisoning, rug-pull
// pins, cross-server shadowing).
import type {
  CallContext,
  Finding,
  ListContext,
  Obligation,
  Stage,
  ToolDescriptor,
} from "../pipeline/types.js";
import { StageRefusal } from "../pipeline/types.js";
import { parseScanConfig, resolveScanConfig, type ScanConfig } from "./config.js";
import { detectToolPoisoning } from "./detectors/tool-poisoning.js";
import { definitionHash, PinStore } from "./pins.js";
import {
  type DropContentObligation,
  dropContent,
  type RedactObligation,
  redactFields,
  redactValue,
} from "./redact.js";
import { escapePointer, scanValue, toFindings } from "./scanner.js";
import type { DetectorHit } from "./types.js";

/** Something the stage noticed about a server's tool list (for logs, audit, metrics). */
export interface ToolEvent {
  type: "tool_pinned" | "tool_changed" | "tool_poisoned" | "tool_shadowing";
  environment: string;
  server: string;
  tool: string;
  action: "hidden" | "reported";
  finding?: Finding;
  detail?: string;
  /** SHA-256 of the definition the server listed (canonical JSON). */
  hash?: string;
}

export interface ScanStageOptions {
  /** Parsed or raw config (validated with scanConfigSchema). */
  config?: ScanConfig | unknown;
  /** Pin store; default: one under `config.pins.stateDir`. */
  pins?: PinStore;
  onToolEvent?: (event: ToolEvent) => void;
}

const RESULT_METHODS = new Set(["tools/call", "resources/read", "prompts/get"]);

export function createScanStage(options: ScanStageOptions = {}): Stage {
  const config = parseScanConfig(options.config ?? {});
  const pins = config.pins.enabled ? (options.pins ?? new PinStore(config.pins.stateDir)) : undefined;
  const emit = options.onToolEvent ?? (() => {});
  // environment -> bare tool name -> server that listed it first
  const owners = new Map<string, Map<string, string>>();
  // Poisoning verdicts by definition hash: tools/list repeats per session, definitions rarely change.
  const poisonCache = new Map<string, DetectorHit | null>();

  const effective = (ctx: CallContext) =>
    resolveScanConfig(
      config,
      ctx.environment,
      [ctx.server && ctx.tool ? `${ctx.server}/${ctx.tool}` : undefined, ctx.exposedName, ctx.tool].filter(
        (k): k is string => typeof k === "string",
      ),
    );

  return {
    name: "scan",

    before(ctx) {
      if (ctx.method !== "tools/call") return;
      const cfg = effective(ctx);
      if (!cfg.enabled) return;
      const args = ctx.params.arguments;
      const result = scanValue(args ?? {}, "argument", cfg);
      const findings = toFindings(result, "in").map((f) => ({ ...f, location: `/arguments${f.location}` }));
      for (const f of findings) ctx.findings.push(f);
      applyObligations(ctx, cfg.obligations.in, "in", cfg);
    },

    after(ctx) {
      if (!RESULT_METHODS.has(ctx.method) || ctx.result === undefined) return;
      const cfg = effective(ctx);
      if (!cfg.enabled) return;
      const result = scanValue(ctx.result, "tool_output", cfg);
      for (const f of toFindings(result, "out")) ctx.findings.push(f);
      const fromPolicy = (ctx.decision?.obligations ?? []).filter(
        (o) => o.direction === undefined || o.direction === "out",
      );
      applyObligations(ctx, [...cfg.obligations.out, ...fromPolicy], "out", cfg);
    },

    filterTools(ctx: ListContext, tools: ToolDescriptor[]): ToolDescriptor[] {
      const cfg = resolveScanConfig(config, ctx.environment);
      if (!cfg.enabled) return tools;
      pins?.reload();
      const envOwners = owners.get(ctx.environment) ?? new Map<string, string>();
      owners.set(ctx.environment, envOwners);
      const kept: ToolDescriptor[] = [];
      for (const tool of tools) {
        let hide = false;
        // Pins and poisoning look at the definition as the downstream server wrote it.
        const bare = bareName(tool.name, ctx.server);
        const definition = { ...tool, name: bare };
        const hash = definitionHash(definition);
        const base = { environment: ctx.environment, server: ctx.server, tool: bare, hash };
        if (cfg.detectors.toolPoisoning.enabled) {
          let hit = poisonCache.get(hash);
          if (hit === undefined) {
            hit = detectToolPoisoning(definition, cfg.detectors.toolPoisoning.threshold)[0] ?? null;
            if (poisonCache.size > 10_000) poisonCache.clear();
            poisonCache.set(hash, hit);
          }
          if (hit) {
            const action = cfg.pins.onPoisoned === "hide" ? "hidden" : "reported";
            hide ||= action === "hidden";
            emit({
              ...base,
              type: "tool_poisoned",
              action,
              finding: {
                ...hit,
                location: `/tools/${escapePointer(tool.name)}`,
                direction: "tool_definition",
              },
            });
          }
        }
        if (pins) {
          const state = pins.check(ctx.environment, ctx.server, definition);
          if (state === "pinned_now") emit({ ...base, type: "tool_pinned", action: "reported" });
          if (state === "changed") {
            const action = cfg.pins.onChange === "hide" ? "hidden" : "reported";
            hide ||= action === "hidden";
            emit({
              ...base,
              type: "tool_changed",
              action,
              detail: `definition differs from the pinned one; approve with: warden tools approve ${ctx.server} ${bare} --env ${ctx.environment}`,
            });
          }
        }
        const owner = envOwners.get(bare);
        if (owner === undefined) envOwners.set(bare, ctx.server);
        else if (owner !== ctx.server) {
          const action = cfg.pins.onShadowing === "hide" ? "hidden" : "reported";
          hide ||= action === "hidden";
          emit({
            ...base,
            type: "tool_shadowing",
            action,
            detail: `"${bare}" is also provided by server "${owner}"`,
          });
        }
        // A description that names another server's tool is how shadowing attacks steer the agent.
        for (const [otherTool, otherServer] of envOwners) {
          if (otherServer === ctx.server || otherTool.length < 4) continue;
          if (tool.description?.toLowerCase().includes(otherTool.toLowerCase())) {
            emit({
              ...base,
              type: "tool_shadowing",
              action: "reported",
              detail: `description mentions "${otherTool}" of server "${otherServer}"`,
            });
          }
        }
        if (!hide) kept.push(tool);
      }
      return kept;
    },
  };
}

/**
 * Policy's obligations on arguments (`direction: "in"`: redact, block). The scan stage runs
 * before policy (it feeds policy its findings), so these run in a stage of their own placed after
 * policy and before the call is forwarded; `ctx.findings` then holds the argument findings the
 * scan stage made, for obligations that filter on detectors, kinds or scores.
 */
export function createPolicyArgumentStage(options: { config?: ScanConfig | unknown } = {}): Stage {
  const config = parseScanConfig(options.config ?? {});
  return {
    name: "scan-policy-in",
    // Reads the arguments only when policy returned an obligation on them.
    reads: { methods: ["tools/call"], params: false },
    before(ctx) {
      if (ctx.method !== "tools/call") return;
      const obligations = (ctx.decision?.obligations ?? []).filter((o) => o.direction === "in");
      if (obligations.length === 0) return;
      const cfg = resolveScanConfig(
        config,
        ctx.environment,
        [ctx.server && ctx.tool ? `${ctx.server}/${ctx.tool}` : undefined, ctx.exposedName, ctx.tool].filter(
          (k): k is string => typeof k === "string",
        ),
      );
      applyObligations(ctx, obligations, "in", cfg);
    },
  };
}

function bareName(name: string, server: string): string {
  for (const sep of ["__", ".", "/", ":", "_", "-"]) {
    if (name.startsWith(`${server}${sep}`)) return name.slice(server.length + sep.length);
  }
  return name;
}

function applyObligations(
  ctx: CallContext,
  obligations: Obligation[],
  direction: "in" | "out",
  cfg: ScanConfig,
): void {
  const detectorOptions = { secrets: cfg.detectors.secrets, pii: cfg.detectors.pii };
  for (const o of obligations) {
    switch (o.type) {
      case "block": {
        // With a filter (detectors / kinds / minScore) the block applies only when a matching
        // finding exists in this direction; without one it is unconditional (policy decided).
        const filtered = o.detectors !== undefined || o.kinds !== undefined || o.minScore !== undefined;
        const relevant = ctx.findings.filter((f) => f.direction === direction && matches(f, o));
        if (filtered && relevant.length === 0) break;
        throw new StageRefusal(
          "scan",
          typeof o.reason === "string" ? o.reason : "blocked by a scan obligation",
          -32001,
          { findings: relevant.map(({ evidence: _e, ...f }) => f) },
        );
      }
      case "redact": {
        if (o.fields !== undefined) {
          // Whole fields: a list of JSON pointers / top-level names (anything else is a bad
          // obligation: refuse rather than forward what policy wanted hidden).
          if (!Array.isArray(o.fields) || !o.fields.every((f) => typeof f === "string"))
            throw new StageRefusal("scan", "malformed redact obligation: fields must be a list of strings");
          const target = direction === "in" ? ctx.params.arguments : ctx.result;
          const { value, count } = redactFields(target, o.fields);
          if (count > 0) {
            if (direction === "in") ctx.params.arguments = value;
            else ctx.result = value;
          }
          tally(ctx, direction === "in" ? "redacted_in" : "redacted_out", count);
        } else if (direction === "in") {
          const { value, count } = redactValue(ctx.params.arguments, o as RedactObligation, detectorOptions);
          if (count > 0) ctx.params.arguments = value;
          tally(ctx, "redacted_in", count);
        } else {
          const { value, count } = redactValue(ctx.result, o as RedactObligation, detectorOptions);
          if (count > 0) ctx.result = value;
          tally(ctx, "redacted_out", count);
        }
        break;
      }
      case "drop_content": {
        if (direction !== "out") break;
        const findings = ctx.findings.filter((f) => f.direction === "out");
        const { value, dropped } = dropContent(ctx.result, findings, o as DropContentObligation);
        if (dropped > 0) ctx.result = value;
        tally(ctx, "dropped_blocks", dropped);
        break;
      }
      default:
        // Other obligations (audit tags, approvals, ...) belong to other stages.
        break;
    }
  }
}

function matches(f: Finding, o: Obligation): boolean {
  if (Array.isArray(o.detectors) && !o.detectors.includes(f.detector)) return false;
  if (Array.isArray(o.kinds) && !o.kinds.includes(f.kind)) return false;
  return typeof o.minScore !== "number" || f.score >= o.minScore;
}

function tally(ctx: CallContext, key: string, n: number): void {
  if (n === 0) return;
  ctx.annotations.scan ??= {};
  const scan = ctx.annotations.scan as Record<string, number>;
  scan[key] = (scan[key] ?? 0) + n;
}
