// The decision input document handed to policy (as `input`). Versioned: policies can check
// `input.version` and docs/decision-input.md describes every field. Field names are snake_case
// as is usual in Rego.
import type { CallContext, Finding, ListContext, Subject, ToolMeta } from "../pipeline/types.js";

export const DECISION_INPUT_VERSION = 1;

export interface DecisionInput {
  version: number;
  subject: {
    user: string;
    tenant: string;
    team: string | null;
    roles: string[];
    scopes: string[];
    auth_method: string;
    claims: Record<string, unknown>;
  };
  client: { name: string | null; version: string | null; protocol_version: string | null };
  environment: string;
  session: { id: string; calls: number; tools_called: string[]; flags: Record<string, unknown> };
  request: {
    method: string;
    server: string | null;
    tool: string | null;
    exposed_name: string | null;
    arguments: Record<string, unknown>;
    uri: string | null;
    prompt: string | null;
  };
  /** Registry metadata of the tool; null when the tool is not in the active registry. */
  registry: { risk: string; labels: string[]; requires_approval: boolean; [extra: string]: unknown } | null;
  scan: {
    findings: Array<{ detector: string; kind: string; score: number; location: string; direction: string }>;
  };
  /** Wall-clock time, truncated to the engine's time granularity so decisions stay cacheable. */
  time: { unix_ms: number; iso: string; hour: number; weekday: number };
}

export interface InputOptions {
  /** Truncate time to this many ms (default 60000). */
  timeGranularityMs?: number;
  now?: number;
  /**
   * Fill session.tools_called (default true). The engine passes false when the loaded policy
   * provably never reads it (see LoadedPolicy.inputPaths): the list is then left empty rather
   * than deduplicated from up to 256 recent calls on every decision.
   */
  toolsCalled?: boolean;
}

function subjectInput(s: Subject): DecisionInput["subject"] {
  return {
    user: s.user,
    tenant: s.tenant,
    team: s.team ?? null,
    roles: s.roles,
    scopes: s.scopes,
    auth_method: s.authMethod,
    claims: s.claims ?? {},
  };
}

function registryInput(meta: ToolMeta | undefined): DecisionInput["registry"] {
  if (!meta) return null;
  const { risk, labels, requiresApproval, sandbox: _sandbox, ...extra } = meta;
  return { ...extra, risk, labels, requires_approval: requiresApproval };
}

function findingsInput(findings: readonly Finding[]): DecisionInput["scan"] {
  return {
    findings: findings.map((f) => ({
      detector: f.detector,
      kind: f.kind,
      score: f.score,
      location: f.location,
      direction: f.direction,
    })),
  };
}

// The last truncated time: every call within one granularity step shares it (policies only read it).
let lastTime: DecisionInput["time"] = { unix_ms: Number.NaN, iso: "", hour: 0, weekday: 0 };

function timeInput(opts: InputOptions): DecisionInput["time"] {
  const g = Math.max(1, opts.timeGranularityMs ?? 60_000);
  const now = opts.now ?? Date.now();
  const t = now - (now % g);
  if (t === lastTime.unix_ms) return lastTime;
  const d = new Date(t);
  lastTime = Object.freeze({
    unix_ms: t,
    iso: d.toISOString(),
    hour: d.getUTCHours(),
    weekday: d.getUTCDay(),
  });
  return lastTime;
}

/**
 * Distinct, sorted tool names: the session keeps a bounded history with repeats, but policies
 * ask "was X called", and a short stable list keeps the input (and the cache key) small.
 */
function distinct(names: readonly string[]): string[] {
  if (names.length === 0) return [];
  return [...new Set(names)].sort();
}

const PROMPT_METHODS = new Set(["prompts/get"]);

export function buildDecisionInput(ctx: CallContext, opts: InputOptions = {}): DecisionInput {
  const args = ctx.params.arguments;
  const prompt = PROMPT_METHODS.has(ctx.method)
    ? (ctx.tool ?? (ctx.params.name as string | undefined) ?? null)
    : null;
  return {
    version: DECISION_INPUT_VERSION,
    subject: subjectInput(ctx.subject),
    client: {
      name: ctx.client.clientInfo?.name ?? null,
      version: ctx.client.clientInfo?.version ?? null,
      protocol_version: ctx.client.protocolVersion ?? null,
    },
    environment: ctx.environment,
    session: {
      id: ctx.session.id,
      calls: ctx.session.callCount,
      tools_called: opts.toolsCalled === false ? [] : distinct(ctx.session.toolsCalled),
      flags: ctx.session.flags,
    },
    request: {
      method: ctx.method,
      server: ctx.server ?? null,
      tool: prompt ? null : (ctx.tool ?? null),
      exposed_name: ctx.exposedName ?? null,
      arguments: args && typeof args === "object" ? (args as Record<string, unknown>) : {},
      uri: ctx.uri ?? null,
      prompt,
    },
    registry: registryInput(ctx.toolMeta),
    scan: findingsInput(ctx.findings),
    time: timeInput(opts),
  };
}

/** Input for deciding whether one tool appears in tools/list (method "tools/list", no arguments). */
export function buildListInput(
  ctx: ListContext,
  tool: { name: string; exposedName: string; meta?: ToolMeta },
  opts: InputOptions = {},
): DecisionInput {
  return {
    version: DECISION_INPUT_VERSION,
    subject: subjectInput(ctx.subject),
    client: { name: null, version: null, protocol_version: null },
    environment: ctx.environment,
    session: {
      id: ctx.session.id,
      calls: ctx.session.callCount,
      tools_called: opts.toolsCalled === false ? [] : distinct(ctx.session.toolsCalled),
      flags: ctx.session.flags,
    },
    request: {
      method: "tools/list",
      server: ctx.server,
      tool: tool.name,
      exposed_name: tool.exposedName,
      arguments: {},
      uri: null,
      prompt: null,
    },
    registry: registryInput(tool.meta),
    scan: { findings: [] },
    time: timeInput(opts),
  };
}
