// The stateless 2026-07-28 revision: no initialize and no session; every request carries its
// protocol version and client capabilities in `_meta`. `StatelessCore` serves such requests for
// any front door: server/discover, subscriptions/listen (listen.ts), one-shot requests, and
// multi-round-trip requests (input-required.ts). `createStatelessDoor` is the HTTP entry on /mcp:
// its edge rungs (era classification, envelope, header/body disagreement) are the SDK's own
// classifier (@modelcontextprotocol/server, loaded on the first such request), then the
// standard-header rung (Mcp-Name). The stdio entry is stateless-stdio.ts.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { InboundClassificationOutcome } from "@modelcontextprotocol/server";
import type { Subject } from "../pipeline/types.js";
import { ErrorCodes, type Id, type JsonRpcMessage, type JsonRpcRequest } from "../upstream/jsonrpc.js";
import { type ParkedCall, ParkedCalls, StatelessCall } from "./input-required.js";
import { type ListenSink, ListenStreams, MAX_LISTEN_STREAMS, parseFilter, sseSink } from "./listen.js";
import type { LogFn } from "./logger.js";
import { checkParamHeadersOn, type ParamHeaderProblem, paramHeaderError } from "./param-headers.js";
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

/** Where the answer to one request goes. */
export interface Reply {
  /** The final answer; `status` is the HTTP status (stdio ignores it). */
  answer(status: number, msg: JsonRpcMessage): void;
  /** A progress or log notification that goes before the answer. */
  notify(msg: JsonRpcMessage): void;
  /** Registers what to do when the client abandons the request before its answer. */
  onAbandon(cb: () => void): void;
  /** The subscription channel, for subscriptions/listen. */
  listenSink(): ListenSink;
}

function errorMessage(id: Id | null, code: number, message: string, data?: unknown): JsonRpcMessage {
  return { jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } };
}

function ownerKey(s: Subject): string {
  return `${s.tenant}\u0000${s.user}`;
}

/** Serves validated 2026-07-28 requests for one front door. */
export class StatelessCore {
  private readonly listens: ListenStreams;
  private readonly parked: ParkedCalls;

  constructor(
    private readonly warden: Warden,
    log: LogFn,
  ) {
    this.listens = new ListenStreams(warden, log);
    this.parked = new ParkedCalls(INPUT_ROUND_TTL_MS, MAX_PARKED_CALLS, (p: ParkedCall) => {
      log("debug", `input_required call expired waiting for the client's retry (${p.method})`);
      p.call.abort("input_required round expired");
      void warden.closeSession(p.call.session);
    });
  }

  get parkedCount(): number {
    return this.parked.size;
  }

  get listenCount(): number {
    return this.listens.count;
  }

  /**
   * Serves one request whose envelope and standard headers were checked; answers on `reply`.
   * `headers` (HTTP only) are the request's, for the router's Mcp-Param-* check of a tools/call.
   */
  async serve(
    r: JsonRpcRequest,
    subject: Subject,
    reply: Reply,
    headers?: Record<string, string | string[] | undefined>,
  ): Promise<void> {
    if (!MODERN_REQUEST_METHODS.has(r.method)) {
      reply.answer(
        404,
        errorMessage(
          r.id,
          ErrorCodes.MethodNotFound,
          `Method not found: ${r.method} (not part of protocol revision ${STATELESS_VERSION})`,
        ),
      );
      return;
    }
    const params = r.params ?? {};
    const meta = (params._meta as Record<string, unknown> | undefined) ?? {};
    const caps = (meta[META_CAPS] as Record<string, unknown>) ?? {};
    if (r.method === "server/discover") return this.discover(r, subject, meta, reply);
    if (r.method === "subscriptions/listen") {
      const filter = parseFilter(params);
      if (!filter) {
        reply.answer(
          200,
          errorMessage(
            r.id,
            ErrorCodes.InvalidParams,
            "Invalid params: 'notifications' is required and must be a valid SubscriptionFilter",
          ),
        );
      } else if (this.listens.count >= MAX_LISTEN_STREAMS) {
        reply.answer(200, errorMessage(r.id, ErrorCodes.InternalError, "Subscription limit reached"));
      } else this.listens.serve(r, filter, subject, caps, reply.listenSink());
      return;
    }
    const owner = ownerKey(subject);
    if (INPUT_REQUIRED_METHODS.has(r.method) && params.requestState !== undefined) {
      const target = params.name ?? params.uri;
      let problem: ParamHeaderProblem | undefined;
      const taken = this.parked.take(params.requestState, owner, (p) => {
        if (p.method !== r.method || p.target !== target) return false;
        // A retry's Mcp-Param-* headers are checked too; a bad one leaves the call parked.
        if (headers && r.method === "tools/call")
          problem = this.warden.router.retryParamHeaderProblem(target, params.arguments, headers);
        return problem === undefined;
      });
      if (problem) {
        reply.answer(400, { jsonrpc: "2.0", id: r.id, error: paramHeaderError(problem).toJSON() });
        return;
      }
      if (!taken) {
        reply.answer(
          200,
          errorMessage(r.id, ErrorCodes.InvalidParams, "Invalid or expired requestState", {
            reason: "invalid_request_state",
          }),
        );
        return;
      }
      const { call } = taken.parked;
      // Capabilities and log level are declared per request: the retry's envelope counts.
      call.session.capabilities = caps;
      call.logLevel = meta[META_LOG_LEVEL] as string | undefined;
      call.deliver(params.inputResponses);
      return this.round(r, call, owner, reply, { id: taken.id, round: taken.parked.round });
    }
    const call = new StatelessCall(r.id, INPUT_REQUIRED_METHODS.has(r.method));
    call.logLevel = meta[META_LOG_LEVEL] as string | undefined;
    const session = this.openSession(subject, meta, call);
    if (headers && r.method === "tools/call") checkParamHeadersOn(session, headers);
    this.warden.handle(session, { ...r, params: withoutRetryFields(params) });
    return this.round(r, call, owner, reply);
  }

  /** Ends listen subscriptions gracefully and cancels calls waiting for a retry. */
  async close(): Promise<void> {
    this.listens.closeAll();
    await Promise.allSettled(
      this.parked.drain().map((p) => {
        p.call.abort("warden is shutting down");
        return this.warden.closeSession(p.call.session);
      }),
    );
  }

  private openSession(subject: Subject, meta: Record<string, unknown>, call: StatelessCall) {
    const session = this.warden.openSession("http", subject, call.onMessage);
    session.capabilities = (meta[META_CAPS] as Record<string, unknown>) ?? {};
    session.clientInfo = meta[META_CLIENT_INFO] as { name: string; version: string } | undefined;
    session.protocolVersion = STATELESS_VERSION;
    call.session = session;
    return session;
  }

  /** A router answer for this request's id, encoded for the revision. */
  private answer(reply: Reply, id: Id, method: string, msg: JsonRpcMessage): void {
    if ("error" in msg && msg.error) {
      const code = encodeModernErrorCode(msg.error.code);
      const status =
        code === ModernErrorCodes.MissingRequiredClientCapability || code === ModernErrorCodes.HeaderMismatch
          ? 400
          : 200;
      reply.answer(status, { jsonrpc: "2.0", id, error: { ...msg.error, code } });
      return;
    }
    const result = (msg as { result?: Record<string, unknown> }).result ?? {};
    reply.answer(200, { jsonrpc: "2.0", id, result: encodeModernResult(method, result) });
  }

  private discover(r: JsonRpcRequest, subject: Subject, meta: Record<string, unknown>, reply: Reply) {
    const call = new StatelessCall(r.id, false);
    const session = this.openSession(subject, meta, call);
    const init = this.warden.router.initialize(session, { protocolVersion: "2025-11-25" });
    // No logging/setLevel on this revision (log messages are asked for per request).
    const { logging: _l, ...capabilities } = init.capabilities as Record<string, unknown>;
    void this.warden.closeSession(session);
    this.answer(reply, r.id, r.method, {
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

  /** Waits for the call's final answer or its next input requests, and answers `reply` with it. */
  private async round(
    r: JsonRpcRequest,
    call: StatelessCall,
    owner: string,
    reply: Reply,
    previous?: { id: string; round: number },
  ): Promise<void> {
    const abandoned = new Promise<"gone">((resolve) => reply.onAbandon(() => resolve("gone")));
    // Progress and requested log messages for this request go before its answer.
    call.onNotification = (msg) => reply.notify(msg);
    const outcome = await Promise.race([call.next(), abandoned]);
    call.onNotification = undefined;
    if (outcome === "gone") {
      call.abort("client abandoned the request");
      await this.warden.closeSession(call.session);
      return;
    }
    if (outcome.kind === "final") {
      await this.warden.closeSession(call.session);
      this.answer(reply, r.id, r.method, outcome.message);
      return;
    }
    const requestState = this.parked.park(
      { call, owner, method: r.method, target: r.params?.name ?? r.params?.uri },
      previous,
    );
    if (!requestState) {
      call.abort("too many pending input_required calls");
      await this.warden.closeSession(call.session);
      reply.answer(
        200,
        errorMessage(
          r.id,
          ErrorCodes.InternalError,
          "mcp-warden: too many requests are waiting for client input",
        ),
      );
      return;
    }
    reply.answer(200, {
      jsonrpc: "2.0",
      id: r.id,
      result: encodeModernResult(r.method, {
        resultType: "input_required",
        inputRequests: outcome.inputRequests,
        requestState,
      }),
    });
  }
}

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
  readonly core: StatelessCore;
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

function httpReply(req: IncomingMessage, res: ServerResponse, jsonOnly: boolean): Reply {
  let answered = false;
  return {
    answer(status, msg) {
      answered = true;
      send(res, status, msg);
    },
    // http.jsonResponse: answers stay JSON, so notifications that would go first are dropped.
    notify: (msg) => {
      if (!jsonOnly) sseEvent(res, msg);
    },
    // On this revision closing the response stream is how an HTTP client cancels.
    onAbandon: (cb) =>
      void res.once("close", () => {
        if (!answered) cb();
      }),
    listenSink: () => sseSink(req, res),
  };
}

/** The HTTP entry on /mcp for requests without a session that claim the 2026-07-28 revision. */
export function createStatelessDoor(
  warden: Warden,
  log: LogFn,
  opts: { jsonResponse?: boolean } = {},
): StatelessDoor {
  const core = new StatelessCore(warden, log);
  return {
    core,
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
        send(res, route.httpStatus, errorMessage(bodyId(), route.code, route.message, route.data));
        return;
      }
      if (route.kind === "legacy") {
        send(
          res,
          400,
          errorMessage(
            bodyId(),
            ErrorCodes.Downstream,
            "Bad Request: Mcp-Session-Id header is required (send initialize first)",
          ),
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
        send(
          res,
          400,
          errorMessage(
            r.id,
            ModernErrorCodes.UnsupportedProtocolVersion,
            `Unsupported protocol version: ${requested}`,
            {
              supported: SUPPORTED_MODERN_VERSIONS,
              requested,
            },
          ),
        );
        return;
      }
      const problem = standardHeaderProblem(req.headers, r);
      if (problem) {
        send(
          res,
          400,
          errorMessage(
            r.id,
            ModernErrorCodes.HeaderMismatch,
            `Bad Request: the request headers and body disagree: ${problem.message}`,
            { mismatch: { header: problem.header, body: problem.message } },
          ),
        );
        return;
      }
      await core.serve(r, subject, httpReply(req, res, opts.jsonResponse === true), req.headers);
    },
    close: () => core.close(),
  };
}
