// The stateless 2026-07-28 revision on /mcp: no initialize and no session; every request carries
// its protocol version and client capabilities in `_meta` plus the routing headers. The edge
// rungs (era classification, envelope, header/body disagreement) are the SDK's own classifier
// (@modelcontextprotocol/server, loaded on the first such request); then the standard-header
// rung (Mcp-Name), the method registry, and dispatch: server/discover, subscriptions/listen
// (listen.ts), one-shot requests, and multi-round-trip requests (input-required.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { InboundClassificationOutcome } from "@modelcontextprotocol/server";
import type { Subject } from "../pipeline/types.js";
import { ErrorCodes, type Id, type JsonRpcMessage, type JsonRpcRequest } from "../upstream/jsonrpc.js";
import { type ParkedCall, ParkedCalls, StatelessCall } from "./input-required.js";
import { ListenStreams, MAX_LISTEN_STREAMS, parseFilter } from "./listen.js";
import type { LogFn } from "./logger.js";
import {
  encodeModernErrorCode,
  encodeModernResult,
  INPUT_REQUIRED_METHODS,
  META_CAPS,
  META_CLIENT_INFO,
  META_LOG_LEVEL,
  META_VERSION,
  MODERN_REQUEST_METHODS,
  ModernErrorCodes,
  STATELESS_VERSION,
  SUPPORTED_MODERN_VERSIONS,
  standardHeaderProblem,
  withoutRetryFields,
} from "./revision-2026.js";
import { WARDEN_INFO } from "./router.js";
import type { Warden } from "./warden.js";

export { STATELESS_VERSION } from "./revision-2026.js";

/** How long a call waits for the client's retry after an input_required answer. */
export const INPUT_ROUND_TTL_MS = 5 * 60_000;
/** Calls that may wait for a retry at once (each holds a downstream request open). */
export const MAX_PARKED_CALLS = 1000;

let sdk: Promise<typeof import("@modelcontextprotocol/server")> | undefined;
const loadSdk = () => (sdk ??= import("@modelcontextprotocol/server"));

/** Whether a POST without a session speaks the 2026-07-28 revision (header or `_meta` claim). */
export function isStatelessRequest(req: IncomingMessage, messages: unknown[]): boolean {
  const h = req.headers["mcp-protocol-version"];
  if (typeof h === "string" && h.trim() >= STATELESS_VERSION) return true;
  return messages.some((m) => {
    const meta = (m as { params?: { _meta?: unknown } }).params?._meta;
    return typeof meta === "object" && meta !== null && META_VERSION in meta;
  });
}

export interface StatelessDoor {
  handle(req: IncomingMessage, res: ServerResponse, body: unknown, subject: Subject): Promise<void>;
  /** Ends listen streams gracefully and cancels calls waiting for a retry. */
  close(): Promise<void>;
  /** Calls waiting for the client's retry, and open listen streams (tests, status). */
  readonly parkedCount: number;
  readonly listenCount: number;
}

function ownerKey(s: Subject): string {
  return `${s.tenant}\u0000${s.user}`;
}

/** Writes one SSE event, opening the stream first if this answer has not started yet. */
function sseEvent(res: ServerResponse, message: JsonRpcMessage): void {
  if (!res.headersSent) {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform" });
  }
  res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

/** The answer to a POST: JSON, or the last event of its SSE stream when notifications went first. */
function send(res: ServerResponse, status: number, message: JsonRpcMessage): void {
  if (res.headersSent) {
    sseEvent(res, message);
    res.end();
    return;
  }
  const text = JSON.stringify(message);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  id: Id | null,
  code: number,
  message: string,
  data?: unknown,
) {
  send(res, status, {
    jsonrpc: "2.0",
    id,
    error: data === undefined ? { code, message } : { code, message, data },
  });
}

export function createStatelessDoor(warden: Warden, log: LogFn): StatelessDoor {
  const listens = new ListenStreams(warden, log);
  const parked = new ParkedCalls(INPUT_ROUND_TTL_MS, MAX_PARKED_CALLS, (p: ParkedCall) => {
    log("debug", `input_required call expired waiting for the client's retry (${p.method})`);
    p.call.abort("input_required round expired");
    void warden.closeSession(p.call.session);
  });

  /** Writes a router answer for this POST's id, encoded for the revision. */
  function answer(res: ServerResponse, id: Id, method: string, msg: JsonRpcMessage): void {
    if ("error" in msg && msg.error) {
      const code = encodeModernErrorCode(msg.error.code);
      const status = code === ModernErrorCodes.MissingRequiredClientCapability ? 400 : 200;
      send(res, status, { jsonrpc: "2.0", id, error: { ...msg.error, code } });
      return;
    }
    const result = (msg as { result?: Record<string, unknown> }).result ?? {};
    send(res, 200, { jsonrpc: "2.0", id, result: encodeModernResult(method, result) });
  }

  function openSession(subject: Subject, meta: Record<string, unknown>, call: StatelessCall) {
    const session = warden.openSession("http", subject, call.onMessage);
    session.capabilities = (meta[META_CAPS] as Record<string, unknown>) ?? {};
    session.clientInfo = meta[META_CLIENT_INFO] as { name: string; version: string } | undefined;
    session.protocolVersion = STATELESS_VERSION;
    call.session = session;
    return session;
  }

  function discover(res: ServerResponse, r: JsonRpcRequest, subject: Subject, meta: Record<string, unknown>) {
    const call = new StatelessCall(r.id, false);
    const session = openSession(subject, meta, call);
    const init = warden.router.initialize(session, { protocolVersion: "2025-11-25" });
    session.protocolVersion = STATELESS_VERSION;
    // No logging/setLevel on this revision, and no log channel on a JSON answer.
    const { logging: _l, ...capabilities } = init.capabilities as Record<string, unknown>;
    void warden.closeSession(session);
    answer(res, r.id, r.method, {
      jsonrpc: "2.0",
      id: r.id,
      result: {
        supportedVersions: SUPPORTED_MODERN_VERSIONS,
        capabilities,
        serverInfo: WARDEN_INFO,
        instructions: init.instructions as string,
      },
    });
  }

  /** Runs rounds until the call is final or needs input; answers this POST either way. */
  async function round(
    res: ServerResponse,
    r: JsonRpcRequest,
    call: StatelessCall,
    owner: string,
    previous?: { id: string; round: number },
  ): Promise<void> {
    let gone = false;
    const onClose = () => {
      gone = true;
    };
    const clientGone = new Promise<"gone">((resolve) =>
      res.once("close", () => {
        onClose();
        resolve("gone");
      }),
    );
    // Progress and requested log messages for this request go first, on an SSE answer.
    call.onNotification = (msg) => sseEvent(res, msg);
    const outcome = await Promise.race([call.next(), clientGone]);
    call.onNotification = undefined;
    if (outcome === "gone" || gone) {
      // On this revision closing the response stream is how a client cancels.
      call.abort("client closed the request");
      await warden.closeSession(call.session);
      return;
    }
    if (outcome.kind === "final") {
      await warden.closeSession(call.session);
      answer(res, r.id, r.method, outcome.message);
      return;
    }
    const requestState = parked.park(
      { call, owner, method: r.method, target: r.params?.name ?? r.params?.uri },
      previous,
    );
    if (!requestState) {
      call.abort("too many pending input_required calls");
      await warden.closeSession(call.session);
      sendError(
        res,
        200,
        r.id,
        ErrorCodes.InternalError,
        "mcp-warden: too many requests are waiting for client input",
      );
      return;
    }
    send(res, 200, {
      jsonrpc: "2.0",
      id: r.id,
      result: encodeModernResult(r.method, {
        resultType: "input_required",
        inputRequests: outcome.inputRequests,
        requestState,
      }),
    });
  }

  async function serveRequest(
    req: IncomingMessage,
    res: ServerResponse,
    r: JsonRpcRequest,
    subject: Subject,
    meta: Record<string, unknown>,
  ): Promise<void> {
    const params = r.params ?? {};
    if (r.method === "server/discover") return discover(res, r, subject, meta);
    if (r.method === "subscriptions/listen") {
      const filter = parseFilter(params);
      if (!filter) {
        sendError(
          res,
          200,
          r.id,
          ErrorCodes.InvalidParams,
          "Invalid params: 'notifications' is required and must be a valid SubscriptionFilter",
        );
        return;
      }
      if (listens.count >= MAX_LISTEN_STREAMS) {
        sendError(res, 200, r.id, ErrorCodes.InternalError, "Subscription limit reached");
        return;
      }
      listens.serve(req, res, r, filter, subject, (meta[META_CAPS] as Record<string, unknown>) ?? {});
      return;
    }
    const owner = ownerKey(subject);
    if (INPUT_REQUIRED_METHODS.has(r.method) && params.requestState !== undefined) {
      const target = params.name ?? params.uri;
      const taken = parked.take(
        params.requestState,
        owner,
        (p) => p.method === r.method && p.target === target,
      );
      if (!taken) {
        sendError(res, 200, r.id, ErrorCodes.InvalidParams, "Invalid or expired requestState", {
          reason: "invalid_request_state",
        });
        return;
      }
      const { call } = taken.parked;
      // Capabilities and log level are declared per request: the retry's envelope counts.
      call.session.capabilities = (meta[META_CAPS] as Record<string, unknown>) ?? {};
      call.logLevel = meta[META_LOG_LEVEL] as string | undefined;
      call.deliver(params.inputResponses);
      return round(res, r, call, owner, { id: taken.id, round: taken.parked.round });
    }
    const call = new StatelessCall(r.id, INPUT_REQUIRED_METHODS.has(r.method));
    call.logLevel = meta[META_LOG_LEVEL] as string | undefined;
    const session = openSession(subject, meta, call);
    warden.handle(session, { ...r, params: withoutRetryFields(params) });
    return round(res, r, call, owner);
  }

  return {
    get parkedCount() {
      return parked.size;
    },
    get listenCount() {
      return listens.count;
    },
    async handle(req, res, body, subject) {
      const { classifyInboundRequest } = await loadSdk();
      const headerValue = (name: string) => {
        const v = req.headers[name];
        return typeof v === "string" ? v : undefined;
      };
      const route: InboundClassificationOutcome = classifyInboundRequest({
        httpMethod: "POST",
        body,
        protocolVersionHeader: headerValue("mcp-protocol-version"),
        mcpMethodHeader: headerValue("mcp-method"),
        mcpNameHeader: headerValue("mcp-name"),
      });
      const bodyId = (): Id | null => {
        const id = (body as { id?: unknown } | null)?.id;
        return typeof id === "string" || typeof id === "number" ? id : null;
      };
      if (route.kind === "reject") {
        sendError(res, route.httpStatus, bodyId(), route.code, route.message, route.data);
        return;
      }
      if (route.kind === "legacy") {
        sendError(
          res,
          400,
          bodyId(),
          ErrorCodes.Downstream,
          "Bad Request: Mcp-Session-Id header is required (send initialize first)",
        );
        return;
      }
      if (route.messageKind === "notification") {
        // No session to apply it to: cancellation on this revision is closing the request's stream.
        res.writeHead(202).end();
        return;
      }
      const r = route.message as unknown as JsonRpcRequest;
      const requested = route.classification.revision ?? STATELESS_VERSION;
      if (!SUPPORTED_MODERN_VERSIONS.includes(requested)) {
        sendError(
          res,
          400,
          r.id,
          ModernErrorCodes.UnsupportedProtocolVersion,
          `Unsupported protocol version: ${requested}`,
          {
            supported: SUPPORTED_MODERN_VERSIONS,
            requested,
          },
        );
        return;
      }
      const problem = standardHeaderProblem(req.headers, r);
      if (problem) {
        sendError(
          res,
          400,
          r.id,
          ModernErrorCodes.HeaderMismatch,
          `Bad Request: the request headers and body disagree: ${problem.message}`,
          {
            mismatch: { header: problem.header, body: problem.message },
          },
        );
        return;
      }
      if (!MODERN_REQUEST_METHODS.has(r.method)) {
        sendError(
          res,
          404,
          r.id,
          ErrorCodes.MethodNotFound,
          `Method not found: ${r.method} (not part of protocol revision ${STATELESS_VERSION})`,
        );
        return;
      }
      const meta = (r.params?._meta as Record<string, unknown> | undefined) ?? {};
      await serveRequest(req, res, r, subject, meta);
    },
    async close() {
      listens.closeAll();
      await Promise.allSettled(
        parked.drain().map((p) => {
          p.call.abort("warden is shutting down");
          return warden.closeSession(p.call.session);
        }),
      );
    },
  };
}
