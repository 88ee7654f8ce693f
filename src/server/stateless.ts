// Minimal support for the stateless 2026-07-28 revision on /mcp: no initialize, no session;
// each request carries its protocol version and client capabilities in _meta. Requests are
// answered as JSON. Multi-round-trip (input_required) results are not implemented: downstream
// server→client requests fail for these clients (documented in docs/proxy.md).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Subject } from "../pipeline/types.js";
import { ErrorCodes, type JsonRpcMessage, type JsonRpcRequest } from "../upstream/jsonrpc.js";
import { WARDEN_INFO } from "./router.js";
import type { Warden } from "./warden.js";

export const STATELESS_VERSION = "2026-07-28";
const META_VERSION = "io.modelcontextprotocol/protocolVersion";
const META_CAPS = "io.modelcontextprotocol/clientCapabilities";
const META_INFO = "io.modelcontextprotocol/clientInfo";

export function isStatelessRequest(req: IncomingMessage, messages: unknown[]): boolean {
  if (req.headers["mcp-protocol-version"] === STATELESS_VERSION) return true;
  return messages.some((m) => {
    const meta = (m as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
    return meta?.[META_VERSION] === STATELESS_VERSION;
  });
}

export async function handleStateless(
  warden: Warden,
  _req: IncomingMessage,
  res: ServerResponse,
  messages: JsonRpcMessage[],
  subject: Subject,
): Promise<void> {
  const answers: JsonRpcMessage[] = [];
  const waiting = new Map<string | number, () => void>();
  const session = warden.openSession("http", subject, (msg) => {
    if ("id" in msg && msg.id !== null && ("result" in msg || "error" in msg)) {
      if ("result" in msg) msg.result = { ...msg.result, resultType: "complete" };
      answers.push(msg);
      waiting.get(msg.id)?.();
    }
  });
  try {
    const done: Promise<void>[] = [];
    for (const m of messages) {
      if (!("method" in m) || !("id" in m) || m.id === undefined || m.id === null) continue;
      const r = m as JsonRpcRequest;
      const meta = r.params?._meta as Record<string, unknown> | undefined;
      session.capabilities = (meta?.[META_CAPS] as Record<string, unknown>) ?? {};
      session.clientInfo = meta?.[META_INFO] as { name: string; version: string } | undefined;
      session.protocolVersion = STATELESS_VERSION;
      if (r.method === "server/discover") {
        const init = warden.router.initialize(session, { protocolVersion: "2025-11-25" });
        session.protocolVersion = STATELESS_VERSION;
        answers.push({
          jsonrpc: "2.0",
          id: r.id,
          result: {
            resultType: "complete",
            supportedVersions: [STATELESS_VERSION],
            capabilities: init.capabilities as Record<string, unknown>,
            serverInfo: WARDEN_INFO,
            instructions: init.instructions as string,
          },
        });
        continue;
      }
      if (r.method === "initialize") {
        answers.push({
          jsonrpc: "2.0",
          id: r.id,
          error: { code: ErrorCodes.InvalidRequest, message: "initialize is not part of 2026-07-28" },
        });
        continue;
      }
      done.push(new Promise<void>((resolve) => waiting.set(r.id, resolve)));
      warden.handle(session, r);
    }
    await Promise.all(done);
  } finally {
    await warden.closeSession(session);
  }
  const body = JSON.stringify(
    answers.length === 1 && !Array.isArray(messages)
      ? answers[0]
      : messages.length === 1
        ? answers[0]
        : answers,
  );
  if (answers.length === 0) {
    res.writeHead(202).end();
    return;
  }
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
