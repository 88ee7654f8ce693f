// Builds realistic CallContexts for policy/audit unit tests.
import type { CallContext, Subject, ToolMeta } from "../../src/pipeline/types.js";

let nextId = 1;

export function makeCtx(
  over: {
    user?: string;
    tenant?: string;
    team?: string;
    roles?: string[];
    method?: string;
    server?: string;
    tool?: string;
    args?: Record<string, unknown>;
    meta?: ToolMeta;
    environment?: string;
    client?: string;
    session?: string;
    calls?: number;
  } = {},
): CallContext {
  const subject: Subject = {
    user: over.user ?? "alice",
    tenant: over.tenant ?? "acme",
    team: over.team,
    roles: over.roles ?? [],
    scopes: [],
    authMethod: "api_key",
    credentialId: "key-1",
  };
  return {
    requestId: nextId++,
    transport: "http",
    environment: over.environment ?? "dev",
    method: over.method ?? "tools/call",
    subject,
    session: { id: over.session ?? "s1", callCount: over.calls ?? 0, toolsCalled: [], flags: {} },
    client: { capabilities: {}, clientInfo: { name: over.client ?? "test-client", version: "1.0" } },
    server: over.server ?? "fs",
    tool: over.tool ?? "read_file",
    exposedName: `${over.server ?? "fs"}__${over.tool ?? "read_file"}`,
    toolMeta: over.meta ?? { risk: "low", labels: ["read-only"], requiresApproval: false },
    params: {
      name: `${over.server ?? "fs"}__${over.tool ?? "read_file"}`,
      arguments: over.args ?? { path: "/tmp/a" },
    },
    findings: [],
    annotations: {},
    startedAt: process.hrtime.bigint(),
    signal: new AbortController().signal,
  };
}
