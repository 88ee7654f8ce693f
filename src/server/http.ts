// The HTTP front door: Streamable HTTP at /mcp (stateful sessions, resumable SSE, JSON-response mode)
// and legacy HTTP+SSE at /sse + /messages. Loopback by default, Host/Origin checked, bodies capped.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Subject } from "../pipeline/types.js";
import { busyPollBudget, ClientPace, callerUnknown } from "../upstream/busy-poll.js";
import { scanEnvelope } from "../upstream/envelope.js";
import { ErrorCodes, envelopeProblem, type Id, type JsonRpcMessage } from "../upstream/jsonrpc.js";
import { RawRequest, rawCallEnvelope } from "../upstream/ndjson.js";
import type { LogFn } from "./logger.js";
import type { ClientSession } from "./session.js";
import { createStatelessDoor, isStatelessRequest } from "./stateless.js";
import { badProtocolHeader, StreamableSession } from "./streamable.js";
import type { Warden } from "./warden.js";

/** Thrown by an `authenticate` hook: becomes a 401 (or `status`) with the hook's WWW-Authenticate header. */
export class AuthenticationRequired extends Error {
  constructor(
    message: string,
    readonly wwwAuthenticate: string,
    readonly status = 401,
  ) {
    super(message);
    this.name = "AuthenticationRequired";
  }
}

export interface HttpRoute {
  /** Exact path (query string ignored), e.g. "/.well-known/oauth-protected-resource". */
  path: string;
  /** HTTP method; any when omitted. */
  method?: string;
  /** Run `authenticate` first and pass the subject (default false: the route handles its own auth). */
  authenticate?: boolean;
  handler(req: IncomingMessage, res: ServerResponse, subject?: Subject): void | Promise<void>;
}

export interface HttpFrontDoorOptions {
  host?: string;
  port?: number;
  /** Who is calling; runs for every MCP request. Default: an anonymous subject. */
  authenticate?: (req: IncomingMessage) => Promise<Subject>;
  /** Extra routes (OAuth metadata, admin API, /metrics ...), matched before the MCP endpoints. */
  routes?: HttpRoute[];
  maxBodyBytes?: number;
  jsonResponse?: boolean;
  allowedHosts?: string[];
  allowedOrigins?: string[];
}

export interface HttpFrontDoor {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly server: Server;
  mount(route: HttpRoute): void;
  /** Live Streamable HTTP + SSE sessions. */
  sessionCount(): number;
  close(): Promise<void>;
}

const ANONYMOUS: Subject = {
  user: "anonymous",
  tenant: "default",
  roles: [],
  scopes: [],
  authMethod: "anonymous",
};

interface LiveSession {
  session: ClientSession;
  owner: string;
  lastSeen: number;
  close(): Promise<void>;
  streamable?: StreamableSession;
  sse?: SSEServerTransport;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function rpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
) {
  sendJson(res, status, { jsonrpc: "2.0", error: { code, message }, id: null }, headers);
}

class BodyTooLarge extends Error {}

/**
 * The whole body when it is already buffered (a small request arrives with its headers, and the
 * parser has pushed it by the time the handler resumes from its first await): read synchronously,
 * without a promise, three listeners and the stream's resume/'end' ticks.
 */
function bufferedBody(req: IncomingMessage, max: number): Buffer | undefined {
  const declared = Number(req.headers["content-length"]);
  if (!(declared > 0 && declared <= max) || req.readableLength !== declared || req.readableFlowing) return;
  return req.read() as Buffer;
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

function ownerKey(s: Subject): string {
  return `${s.tenant}\u0000${s.user}`;
}

export async function startHttpFrontDoor(
  warden: Warden,
  opts: HttpFrontDoorOptions,
  log: LogFn,
): Promise<HttpFrontDoor> {
  const cfg = warden.config.http;
  const host = opts.host ?? cfg.host;
  const maxBody = opts.maxBodyBytes ?? cfg.maxBodyBytes;
  const jsonResponse = opts.jsonResponse ?? cfg.jsonResponse;
  // The budget for keeping the loop turning after answering a session's POST (busy-poll.ts).
  const linger = busyPollBudget(cfg.busyPollMicros);
  const routes: HttpRoute[] = [...(opts.routes ?? [])];
  const sessions = new Map<string, LiveSession>();
  const authenticate = opts.authenticate;
  let allowedHosts = new Set<string>();
  const allowedOrigins = new Set([...(opts.allowedOrigins ?? []), ...cfg.allowedOrigins]);
  let closing = false;
  const stateless = createStatelessDoor(warden, log, { jsonResponse });

  /**
   * Who is calling, or undefined after answering 401/500. Without a hook, anonymous at once (no
   * promise of its own: callers await it, which is the one tick a small body needs to be buffered).
   */
  function subjectOf(req: IncomingMessage, res: ServerResponse): Subject | Promise<Subject | undefined> {
    return authenticate ? hookSubject(authenticate, req, res) : ANONYMOUS;
  }

  async function hookSubject(
    hook: (req: IncomingMessage) => Promise<Subject>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<Subject | undefined> {
    try {
      return await hook(req);
    } catch (err) {
      if (err instanceof AuthenticationRequired) {
        rpcError(res, err.status, ErrorCodes.InvalidRequest, err.message, {
          "www-authenticate": err.wwwAuthenticate,
        });
      } else {
        log("error", `authenticate hook failed: ${(err as Error).message}`);
        rpcError(res, 500, ErrorCodes.InternalError, "authentication failed");
      }
      return undefined;
    }
  }

  /** The request body, or undefined after answering 413/400. */
  async function bodyOf(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    try {
      const buffered = bufferedBody(req, maxBody);
      if (buffered) return buffered;
      return await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        rpcError(res, 413, ErrorCodes.InvalidRequest, `Request body exceeds the limit of ${maxBody} bytes`, {
          connection: "close",
        });
      } else rpcError(res, 400, ErrorCodes.InvalidRequest, "could not read request body");
      return undefined;
    }
  }

  /** The parsed body, or undefined after answering 400 (-32700). */
  function parseJson(body: Buffer, res: ServerResponse): unknown {
    try {
      return JSON.parse(body.toString("utf8"));
    } catch {
      rpcError(res, 400, ErrorCodes.ParseError, "Parse error: invalid JSON");
      return undefined;
    }
  }

  async function parseBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const body = await bodyOf(req, res);
    return body === undefined ? undefined : parseJson(body, res);
  }

  function openStreamable(subject: Subject): LiveSession {
    const id = randomUUID();
    const stream = new StreamableSession(id, cfg.resumableEvents, jsonResponse, new ClientPace(linger));
    const session = warden.openSession("http", subject, stream.send, id);
    session.sendRaw = stream.sendRaw;
    stream.session = session;
    const live: LiveSession = {
      session,
      owner: ownerKey(subject),
      lastSeen: Date.now(),
      streamable: stream,
      close: async () => stream.close(),
    };
    stream.onclose = () => {
      sessions.delete(id);
      void warden.closeSession(session);
    };
    sessions.set(id, live);
    return live;
  }

  /**
   * The live Streamable HTTP session a POST may hand a tools/call to as bytes: it exists, belongs
   * to the subject, the protocol header is fine, and no stage reads tools/call params.
   */
  function rawSession(req: IncomingMessage, subject: Subject): LiveSession | undefined {
    if (!warden.router.forwardsRawCalls) return undefined;
    const sid = req.headers["mcp-session-id"];
    const live = typeof sid === "string" ? sessions.get(sid) : undefined;
    if (!live?.streamable || live.owner !== ownerKey(subject) || badProtocolHeader(req)) return undefined;
    return live;
  }

  /** Registers the POST's requests on its response, then feeds every message to the router. */
  function feed(live: LiveSession, res: ServerResponse, messages: JsonRpcMessage[], batch: boolean) {
    const ids: Id[] = [];
    for (const m of messages)
      if ("method" in m && "id" in m && m.id !== undefined && m.id !== null) ids.push(m.id);
    live.streamable?.accept(res, ids, batch);
    for (const m of messages) warden.handle(live.session, m);
  }

  /** Serves /mcp; never rejects (a failure is logged and answered 500). */
  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const method = req.method ?? "GET";
      if (method !== "POST" && method !== "GET" && method !== "DELETE") {
        rpcError(res, 405, ErrorCodes.InvalidRequest, "Method not allowed", { allow: "GET, POST, DELETE" });
        return;
      }
      const subject = await subjectOf(req, res);
      if (!subject) return;
      const accept = req.headers.accept ?? "";
      let messages: JsonRpcMessage[] = [];
      let batch = false;
      if (method === "POST") {
        if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
          rpcError(
            res,
            406,
            ErrorCodes.Downstream,
            "Not Acceptable: Client must accept both application/json and text/event-stream",
          );
          return;
        }
        if (!(req.headers["content-type"] ?? "").includes("application/json")) {
          rpcError(
            res,
            415,
            ErrorCodes.Downstream,
            "Unsupported Media Type: Content-Type must be application/json",
          );
          return;
        }
        const bytes = bufferedBody(req, maxBody) ?? (await bodyOf(req, res));
        if (bytes === undefined) return;
        // A tools/call in a live session, when no stage reads its params, travels as bytes: the
        // envelope scan (which also validates the JSON) finds id, tool name and progress token,
        // and the arguments are never decoded or parsed (see RawRequest).
        const rawLive = rawSession(req, subject);
        if (rawLive) {
          const envelope = rawCallEnvelope(scanEnvelope(bytes, "tools/call"));
          if (envelope) {
            rawLive.lastSeen = Date.now();
            rawLive.session.subject = subject;
            rawLive.streamable?.acceptOne(res, envelope.id);
            warden.router.handleRawCall(rawLive.session, new RawRequest(bytes, envelope));
            return;
          }
        }
        const body = parseJson(bytes, res);
        if (body === undefined) return;
        batch = Array.isArray(body);
        const list = batch ? (body as unknown[]) : [body];
        if (list.length === 0) {
          rpcError(res, 400, ErrorCodes.InvalidRequest, "Invalid Request: empty batch");
          return;
        }
        for (const m of list) {
          const problem = envelopeProblem(m);
          if (problem) {
            rpcError(res, 400, ErrorCodes.InvalidRequest, `Invalid Request: expected ${problem}`);
            return;
          }
        }
        messages = list as JsonRpcMessage[];
      } else if (!accept.includes("text/event-stream") && method === "GET") {
        rpcError(res, 406, ErrorCodes.Downstream, "Not Acceptable: Client must accept text/event-stream");
        return;
      }
      const isInit = messages.some((m) => (m as { method?: string }).method === "initialize");
      const sid = req.headers["mcp-session-id"];
      if (typeof sid === "string") {
        const live = sessions.get(sid);
        if (!live?.streamable) {
          rpcError(res, 404, ErrorCodes.Refused, "Session not found: initialize a new session");
          return;
        }
        if (live.owner !== ownerKey(subject)) {
          rpcError(res, 403, ErrorCodes.InvalidRequest, "Session belongs to another subject");
          return;
        }
        const bad = badProtocolHeader(req);
        if (bad) {
          rpcError(res, 400, ErrorCodes.Downstream, bad);
          return;
        }
        live.lastSeen = Date.now();
        live.session.subject = subject;
        if (method === "GET") return live.streamable.openGet(req, res);
        if (method === "DELETE") {
          await live.close();
          res.writeHead(200).end();
          return;
        }
        if (isInit) {
          rpcError(res, 400, ErrorCodes.InvalidRequest, "Invalid Request: Server already initialized");
          return;
        }
        feed(live, res, messages, batch);
        return;
      }
      if (method !== "POST") {
        rpcError(res, 400, ErrorCodes.Downstream, "Bad Request: Mcp-Session-Id header is required");
        return;
      }
      if (isStatelessRequest(req, messages)) {
        callerUnknown(); // no session to time its client's pace: `auto` servers do not poll for it
        await stateless.handle(req, res, batch ? messages : messages[0], subject);
        return;
      }
      if (isInit) {
        if (messages.length > 1) {
          rpcError(
            res,
            400,
            ErrorCodes.InvalidRequest,
            "Invalid Request: Only one initialization request is allowed",
          );
          return;
        }
        feed(openStreamable(subject), res, messages, batch);
        return;
      }
      rpcError(
        res,
        400,
        ErrorCodes.Downstream,
        "Bad Request: Mcp-Session-Id header is required (send initialize first)",
      );
    } catch (err) {
      internalError(req, res, err);
    }
  }

  async function handleSseOpen(req: IncomingMessage, res: ServerResponse) {
    const subject = await subjectOf(req, res);
    if (!subject) return;
    const transport = new SSEServerTransport("/messages", res);
    const session = warden.openSession("sse", subject, (msg) => sendVia(transport, msg), transport.sessionId);
    const live: LiveSession = {
      session,
      owner: ownerKey(subject),
      lastSeen: Date.now(),
      sse: transport,
      close: () => transport.close(),
    };
    sessions.set(transport.sessionId, live);
    transport.onmessage = (m) => warden.handle(session, m as JsonRpcMessage);
    transport.onclose = () => {
      sessions.delete(transport.sessionId);
      void warden.closeSession(session);
    };
    await transport.start();
  }

  async function handleSseMessage(req: IncomingMessage, res: ServerResponse, url: URL) {
    const subject = await subjectOf(req, res);
    if (!subject) return;
    const live = sessions.get(url.searchParams.get("sessionId") ?? "");
    if (!live?.sse) {
      rpcError(res, 404, ErrorCodes.Refused, "Session not found: open /sse first");
      return;
    }
    if (live.owner !== ownerKey(subject)) {
      rpcError(res, 403, ErrorCodes.InvalidRequest, "Session belongs to another subject");
      return;
    }
    const body = await parseBody(req, res);
    if (body === undefined) return;
    const problem = envelopeProblem(body);
    if (problem) {
      rpcError(res, 400, ErrorCodes.InvalidRequest, `Invalid Request: expected ${problem}`);
      return;
    }
    live.lastSeen = Date.now();
    live.session.subject = subject;
    callerUnknown(); // legacy SSE answers on another stream: its client's pace is not timed
    await live.sse.handlePostMessage(req, res, body);
  }

  function internalError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    log("error", `http ${req.method} ${req.url}: ${(err as Error)?.stack ?? (err as Error)?.message ?? err}`);
    rpcError(res, 500, ErrorCodes.InternalError, "Internal error");
  }

  /**
   * Serves one request. /mcp, the hot path, goes to handleMcp, which never rejects: no catch
   * handler (a closure) and derived promise per request; the other handlers' failures are caught here.
   */
  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    let pending: Promise<void> | undefined;
    try {
      pending = route(req, res);
    } catch (err) {
      internalError(req, res, err);
      return;
    }
    pending?.catch((err: unknown) => internalError(req, res, err));
  }

  /** The handler for a request: undefined when answered already, else its promise. */
  function route(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
    if (closing) {
      rpcError(res, 503, ErrorCodes.InternalError, "warden is shutting down", { connection: "close" });
      return;
    }
    const hostHeader = (req.headers.host ?? "").toLowerCase();
    if (!allowedHosts.has(hostHeader)) {
      rpcError(res, 403, ErrorCodes.InvalidRequest, `Forbidden: Host '${hostHeader}' is not allowed`);
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin.toLowerCase())) {
      rpcError(res, 403, ErrorCodes.InvalidRequest, `Forbidden: Origin '${origin}' is not allowed`);
      return;
    }
    // The hot path "/mcp" needs no URL parsing (a few µs per request).
    const url = req.url === "/mcp" ? undefined : new URL(req.url ?? "/", "http://warden.invalid");
    const pathname = url ? url.pathname : "/mcp";
    for (const r of routes) {
      if (r.path === pathname && (!r.method || r.method === req.method)) return handleRoute(r, req, res);
    }
    if (pathname === "/mcp") {
      void handleMcp(req, res); // never rejects
      return;
    }
    if (pathname === "/healthz" && req.method === "GET") {
      // Liveness plus each downstream's state; no errors, pids or config (unauthenticated).
      const servers = warden
        .status()
        .map((st) => ({ name: st.name, state: st.state, restarts: st.restarts }));
      const ok = servers.every((st) => st.state === "ready");
      sendJson(res, ok ? 200 : 503, {
        status: ok ? "ok" : "degraded",
        environment: warden.environment,
        servers,
      });
      return;
    }
    if (pathname === "/sse" && req.method === "GET") return handleSseOpen(req, res);
    if (url && pathname === "/messages" && req.method === "POST") return handleSseMessage(req, res, url);
    rpcError(res, 404, ErrorCodes.InvalidRequest, `Not found: ${pathname} (MCP is served at /mcp and /sse)`);
    return undefined;
  }

  async function handleRoute(r: HttpRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const subject = r.authenticate ? await subjectOf(req, res) : undefined;
    if (r.authenticate && !subject) return;
    await r.handler(req, res, subject);
  }

  const server = createServer(onRequest);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? cfg.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  allowedHosts = new Set(
    [
      `${hostForUrl}:${port}`,
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      ...(opts.allowedHosts ?? []),
      ...cfg.allowedHosts,
    ].map((h) => h.toLowerCase()),
  );
  for (const h of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `${hostForUrl}:${port}`]) {
    allowedOrigins.add(`http://${h}`);
  }

  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - cfg.sessionIdleMs;
      for (const live of sessions.values()) {
        if (live.lastSeen < cutoff && live.session.inflight.size === 0) void live.close();
      }
    },
    Math.min(60_000, cfg.sessionIdleMs),
  );
  sweep.unref();

  const url = `http://${hostForUrl}:${port}`;
  log("info", `HTTP front door on ${url}/mcp (Streamable HTTP) and ${url}/sse (legacy SSE)`);
  return {
    url,
    host,
    port,
    server,
    mount: (route) => routes.push(route),
    sessionCount: () => sessions.size,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(sweep);
      const closed = new Promise<void>((r) => server.close(() => r()));
      await Promise.allSettled([...sessions.values()].map((s) => s.close()));
      await stateless.close();
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(force);
    },
  };
}

/** Sends on the legacy SSE transport (it has a single stream per session). */
function sendVia(transport: SSEServerTransport, msg: JsonRpcMessage) {
  transport.send(msg as JSONRPCMessage).catch(() => {});
}
