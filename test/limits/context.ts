import type { CallContext, Subject } from "../../src/pipeline/types.js";

// A CallContext for unit tests of stages (integration tests use real MCP sessions).
export function makeContext(
  over: Omit<Partial<CallContext>, "subject"> & { subject?: Partial<Subject> } = {},
): CallContext {
  const { subject, ...rest } = over;
  return {
    requestId: 1,
    transport: "http",
    environment: "dev",
    method: "tools/call",
    subject: { user: "alice", tenant: "acme", roles: [], scopes: [], authMethod: "api_key", ...subject },
    session: { id: "s1", callCount: 0, toolsCalled: [], flags: {} },
    client: { capabilities: {} },
    server: "everything",
    tool: "echo",
    params: { name: "everything__echo", arguments: { message: "hi" } },
    findings: [],
    annotations: {},
    startedAt: process.hrtime.bigint(),
    signal: new AbortController().signal,
    ...rest,
  };
}
