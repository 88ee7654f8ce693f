// The proxy core: answers the client-facing MCP methods by aggregating, routing and forwarding
// to downstream servers, with every routed call passing through the pipeline.
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import { LRUCache } from "lru-cache";
import { RoutedCallContext } from "../pipeline/call-context.js";
import type { Pipeline } from "../pipeline/runner.js";
import type { CallContext, ListContext, ToolDescriptor } from "../pipeline/types.js";
import { LazyAbort } from "../upstream/cancel.js";
import type { ConnectionHandlers } from "../upstream/connection.js";
import {
  ErrorCodes,
  type Id,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  RpcError,
} from "../upstream/jsonrpc.js";
import { RawRequest, RawResult } from "../upstream/ndjson.js";
import type { Downstream, UpstreamServer } from "../upstream/server.js";
import { ForwardOptions } from "./forward-options.js";
import {
  type ParamHeaderProblem,
  paramHeaderError,
  paramHeaderProblem,
  paramHeadersOf,
} from "./param-headers.js";
import type { ClientSession } from "./session.js";
import { ToolParamCache } from "./tool-param-cache.js";

/** Protocol revisions served with the initialize handshake, newest first. */
export const SUPPORTED_PROTOCOL_VERSIONS = [
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2024-10-07",
];
export const WARDEN_INFO = { name: "mcp-warden", version: "0.1.0" };

const LIST_CAPABILITY: Record<string, string> = {
  "tools/list": "tools",
  "prompts/list": "prompts",
  "resources/list": "resources",
  "resources/templates/list": "resources",
};
const LIST_KEY: Record<string, string> = {
  "tools/list": "tools",
  "prompts/list": "prompts",
  "resources/list": "resources",
  "resources/templates/list": "resourceTemplates",
};

export interface RouterOptions {
  environment: string;
  separator: string;
  servers: UpstreamServer[];
  pipeline: Pipeline;
  log(level: "info" | "warn" | "error" | "debug", msg: string): void;
}

export class Router {
  readonly sessions = new Map<string, ClientSession>();
  private readonly servers = new Map<string, UpstreamServer>();
  private readonly order: UpstreamServer[];
  private readonly sep: string;
  /** Resource URI → server, learned from resources/list answers. */
  private readonly resourceOwners = new LRUCache<string, string>({ max: 20_000 });
  /** server → compiled resource templates, learned from resources/templates/list answers. */
  private readonly templates = new Map<string, UriTemplate[]>();
  /** Downstream tools' x-mcp-header declarations, for checking 2026-07-28 Mcp-Param-* headers. */
  readonly toolParams = new ToolParamCache();

  constructor(private readonly opts: RouterOptions) {
    this.sep = opts.separator;
    this.order = opts.servers;
    for (const s of opts.servers) this.servers.set(s.name, s);
  }

  addSession(session: ClientSession): void {
    this.sessions.set(session.id, session);
  }

  async removeSession(session: ClientSession): Promise<void> {
    session.close();
    this.sessions.delete(session.id);
    await Promise.allSettled(this.order.map((s) => s.releaseSession(session.id)));
  }

  /** Handles one message from a client session. Never throws: failures become error answers. */
  handle(session: ClientSession, msg: JsonRpcMessage): void {
    if ("method" in msg) {
      if ("id" in msg && msg.id !== undefined && msg.id !== null) {
        this.serve(session, msg as JsonRpcRequest);
        return;
      }
      this.clientNotification(session, msg as JsonRpcNotification);
      return;
    }
    if ("id" in msg && msg.id !== null) {
      if ("error" in msg) session.answer(msg.id, undefined, msg.error);
      else session.answer(msg.id, (msg as { result: Record<string, unknown> }).result);
    }
  }

  /**
   * True when no pipeline stage reads a tools/call's params: the front door may then hand calls
   * over as bytes (handleRawCall) instead of parsing them.
   */
  get forwardsRawCalls(): boolean {
    return !this.opts.pipeline.readsParams("tools/call");
  }

  /** Handles a tools/call kept as bytes (see RawRequest); only when forwardsRawCalls. */
  handleRawCall(session: ClientSession, raw: RawRequest): void {
    this.serve(session, { jsonrpc: "2.0", id: raw.id, method: "tools/call" }, raw);
  }

  private serve(session: ClientSession, req: JsonRpcRequest, raw?: RawRequest): void {
    const ac = new LazyAbort();
    session.inflight.set(req.id, ac);
    let p: Promise<Record<string, unknown>>;
    try {
      p = raw ? this.callTool(session, req, raw, ac) : this.dispatch(session, req, ac);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (result) => {
        session.inflight.delete(req.id);
        if (ac.aborted) return;
        if (result instanceof RawResult) {
          if (session.sendRaw) session.sendRaw(result, req.id);
          else session.send({ jsonrpc: "2.0", id: req.id, result: result.parse() }, req.id);
        } else session.send({ jsonrpc: "2.0", id: req.id, result }, req.id);
      },
      (err: unknown) => {
        session.inflight.delete(req.id);
        // A cancelled request gets no answer (MCP cancellation semantics).
        if (ac.aborted && !session.closed && (err as RpcError)?.code === ErrorCodes.RequestCancelled) return;
        if (session.closed) return;
        const e =
          err instanceof RpcError
            ? err.toJSON()
            : {
                code: ErrorCodes.InternalError,
                message: `warden internal error: ${(err as Error)?.message ?? err}`,
              };
        if (!(err instanceof RpcError))
          this.opts.log("error", `internal error on ${req.method}: ${(err as Error)?.stack ?? err}`);
        session.send({ jsonrpc: "2.0", id: req.id, error: e }, req.id);
      },
    );
  }

  private dispatch(
    session: ClientSession,
    req: JsonRpcRequest,
    signal: LazyAbort,
  ): Promise<Record<string, unknown>> {
    const params = req.params ?? {};
    switch (req.method) {
      case "tools/call":
        return this.callTool(session, req, params, signal);
      case "tools/list":
      case "prompts/list":
      case "resources/list":
      case "resources/templates/list":
        return this.list(session, req.method, params);
      case "prompts/get":
        return this.getPrompt(session, req, params, signal);
      case "resources/read":
        return this.readResource(session, req, params, signal);
      case "resources/subscribe":
      case "resources/unsubscribe":
        return this.subscription(session, req, params, signal);
      case "completion/complete":
        return this.complete(session, req, params, signal);
      case "logging/setLevel":
        return this.setLevel(session, params);
      case "initialize":
        return Promise.resolve(this.initialize(session, params));
      case "ping":
        return Promise.resolve({});
      default:
        return Promise.reject(new RpcError(ErrorCodes.MethodNotFound, `Method not found: ${req.method}`));
    }
  }

  initialize(session: ClientSession, params: Record<string, unknown>): Record<string, unknown> {
    const requested = typeof params.protocolVersion === "string" ? params.protocolVersion : undefined;
    const version =
      requested && SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
        ? requested
        : SUPPORTED_PROTOCOL_VERSIONS[0];
    session.protocolVersion = version;
    session.capabilities = (params.capabilities as Record<string, unknown>) ?? {};
    session.clientInfo = params.clientInfo as { name: string; version: string } | undefined;
    return {
      protocolVersion: version,
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        logging: {},
        completions: {},
      },
      serverInfo: WARDEN_INFO,
      instructions: `mcp-warden (environment ${this.opts.environment}): tools and prompts are named <server>${this.sep}<name>.`,
    };
  }

  /** Splits `<server><sep><name>`; server names never contain the separator, so the first one splits. */
  private split(exposed: unknown): { server?: UpstreamServer; name?: string } {
    if (typeof exposed !== "string") return {};
    const i = exposed.indexOf(this.sep);
    if (i <= 0) return {};
    return { server: this.servers.get(exposed.slice(0, i)), name: exposed.slice(i + this.sep.length) };
  }

  private context(
    session: ClientSession,
    req: JsonRpcRequest,
    source: Record<string, unknown> | RawRequest,
    signal: LazyAbort,
  ): CallContext {
    return new RoutedCallContext(
      req.id,
      session.transport,
      this.opts.environment,
      req.method,
      session.subject,
      session.state,
      session,
      source,
      signal,
    );
  }

  /** Forwards one request to a server on behalf of a session, relaying progress with the client's token. */
  private forward(
    session: ClientSession,
    server: UpstreamServer,
    req: JsonRpcRequest,
    params: Record<string, unknown>,
    signal: LazyAbort,
    raw = false,
    bytes?: { request: RawRequest; name: string },
  ): Promise<Record<string, unknown>> {
    // A running connection is used without awaiting acquire(): one promise hop fewer per call.
    const ready = server.readyConnection();
    if (ready) return this.send(session, server, ready, req, params, signal, raw, bytes);
    return server
      .acquire(session.id, session.capabilities, server.config.timeoutMs)
      .then((ds) => this.send(session, server, ds, req, params, signal, raw, bytes));
  }

  /** forward() once the downstream is known; the answer's promise is returned as is (no async wrapper). */
  private send(
    session: ClientSession,
    server: UpstreamServer,
    ds: Downstream,
    req: JsonRpcRequest,
    params: Record<string, unknown>,
    signal: LazyAbort,
    raw: boolean,
    bytes: { request: RawRequest; name: string } | undefined,
  ): Promise<Record<string, unknown>> {
    const token = bytes
      ? bytes.request.envelope.progressToken
      : (params._meta as Record<string, unknown> | undefined)?.progressToken;
    // Registers the call in session.inflightByServer; its onSettled undoes that. A connection
    // calls it itself when the request settles, before anyone awaiting the answer resumes;
    // other downstreams get a reaction registered first.
    const opts = new ForwardOptions(
      server.config.timeoutMs,
      signal,
      session,
      raw,
      token === undefined
        ? undefined
        : (p) =>
            session.send(
              {
                jsonrpc: "2.0",
                method: "notifications/progress",
                params: { ...p, progressToken: token },
              },
              req.id,
            ),
      server.name,
      req.id,
    );
    let answer: Promise<Record<string, unknown>>;
    try {
      answer =
        bytes && ds.requestRaw
          ? ds.requestRaw(bytes.request, bytes.name, opts)
          : ds.request(
              req.method,
              bytes ? { ...bytes.request.message().params, name: bytes.name } : params,
              opts,
            );
    } catch (err) {
      opts.onSettled();
      return Promise.reject(err);
    }
    if (ds.callsOnSettled !== true) {
      const done = () => opts.onSettled();
      answer.then(done, done);
    }
    return answer;
  }

  // Not async, and the execute callback neither: each async wrapper returning a promise costs
  // promise hops between the downstream's answer and the client's reply. Synchronous throws
  // reach the same handlers (serve() and Pipeline.run catch them).
  private callTool(
    session: ClientSession,
    req: JsonRpcRequest,
    params: Record<string, unknown> | RawRequest,
    signal: LazyAbort,
  ): Promise<Record<string, unknown>> {
    const exposed = params instanceof RawRequest ? params.envelope.name : params.name;
    if (typeof exposed !== "string")
      throw new RpcError(ErrorCodes.InvalidParams, "tools/call needs params.name (a string)");
    const { server, name } = this.split(exposed);
    const ctx = this.context(session, req, params, signal);
    ctx.exposedName = exposed;
    if (server) {
      ctx.server = server.name;
      ctx.tool = name;
    }
    session.state.callCount++;
    return this.opts.pipeline.run(ctx, (c) => {
      if (!server || name === undefined) {
        throw new RpcError(ErrorCodes.InvalidParams, `Unknown tool: ${c.exposedName}`);
      }
      session.state.toolsCalled.push(c.exposedName as string);
      if (session.state.toolsCalled.length > 256) session.state.toolsCalled.shift();
      const call = () => {
        // When no after hook reads more of the result than its isError flag, let it travel as
        // bytes. The request does too, unless a stage has read (and so may have changed) its params.
        const bytes =
          params instanceof RawRequest && !params.isParsed ? { request: params, name } : undefined;
        return this.forward(
          session,
          server,
          req,
          bytes ? {} : { ...c.params, name },
          signal,
          this.opts.pipeline.forwardsRawResults("tools/call"),
          bytes,
        );
      };
      // After the stages allowed the call (so a hidden tool's schema is never hinted at).
      const headers = paramHeadersOf(session);
      if (headers) return this.checkParamHeaders(session, server, name, c, headers).then(call);
      return call();
    }) as Promise<Record<string, unknown>>;
  }

  /** Rejects a 2026-07-28 HTTP call whose Mcp-Param-* headers disagree with its arguments. */
  private async checkParamHeaders(
    session: ClientSession,
    server: UpstreamServer,
    tool: string,
    ctx: CallContext,
    headers: NonNullable<ReturnType<typeof paramHeadersOf>>,
  ): Promise<void> {
    const decls = await this.toolParams.lookup(server.name, server.restarts, tool, () =>
      this.listAllTools(session, server),
    );
    if (decls.length === 0) return;
    const problem = paramHeaderProblem(decls, ctx.params.arguments, headers);
    if (problem) throw paramHeaderError(problem);
  }

  /**
   * The Mcp-Param-* check of a multi-round-trip call's retry, against the cached definition
   * (its first round, which the stages allowed, had it loaded).
   */
  retryParamHeaderProblem(
    exposed: unknown,
    args: unknown,
    headers: NonNullable<ReturnType<typeof paramHeadersOf>>,
  ): ParamHeaderProblem | undefined {
    const { server, name } = this.split(exposed);
    if (!server || name === undefined) return undefined;
    const decls = this.toolParams.cached(server.name, server.restarts, name);
    return decls.length === 0 ? undefined : paramHeaderProblem(decls, args, headers);
  }

  /** One server's whole tools/list, unfiltered (what its tools declare does not depend on who asks). */
  private async listAllTools(session: ClientSession, server: UpstreamServer) {
    const timeoutMs = server.config.timeoutMs;
    const ds = await server.acquire(session.id, session.capabilities, timeoutMs);
    const tools: Array<Record<string, unknown>> = [];
    if (ds.serverCapabilities.tools === undefined) return tools;
    let cursor: string | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await ds.request("tools/list", cursor === undefined ? {} : { cursor }, {
        timeoutMs,
        owner: session.id,
      });
      if (Array.isArray(page.tools)) tools.push(...(page.tools as Array<Record<string, unknown>>));
      cursor = typeof page.nextCursor === "string" ? page.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    return tools;
  }

  private async getPrompt(
    session: ClientSession,
    req: JsonRpcRequest,
    params: Record<string, unknown>,
    signal: LazyAbort,
  ) {
    const { server, name } = this.split(params.name);
    if (!server || name === undefined)
      throw new RpcError(ErrorCodes.InvalidParams, `Unknown prompt: ${String(params.name)}`);
    const ctx = this.context(session, req, params, signal);
    ctx.server = server.name;
    ctx.tool = name;
    ctx.exposedName = params.name as string;
    return (await this.opts.pipeline.run(ctx, (c) =>
      this.forward(session, server, req, { ...c.params, name }, signal),
    )) as Record<string, unknown>;
  }

  private async readResource(
    session: ClientSession,
    req: JsonRpcRequest,
    params: Record<string, unknown>,
    signal: LazyAbort,
  ) {
    const server = await this.ownerOf(session, params.uri);
    const ctx = this.context(session, req, params, signal);
    ctx.server = server.name;
    ctx.uri = params.uri as string;
    return (await this.opts.pipeline.run(ctx, (c) =>
      this.forward(session, server, req, c.params, signal),
    )) as Record<string, unknown>;
  }

  private async subscription(
    session: ClientSession,
    req: JsonRpcRequest,
    params: Record<string, unknown>,
    signal: LazyAbort,
  ) {
    const server = await this.ownerOf(session, params.uri);
    const uri = params.uri as string;
    let set = session.subscriptions.get(server.name);
    if (req.method !== "resources/subscribe") {
      set?.delete(uri);
      return this.forward(session, server, req, params, signal);
    }
    // Recorded before forwarding: a server may send resources/updated right after its answer, and
    // both can arrive in one read, i.e. before this function resumes after the answer.
    if (!set) {
      set = new Set();
      session.subscriptions.set(server.name, set);
    }
    const had = set.has(uri);
    set.add(uri);
    try {
      return await this.forward(session, server, req, params, signal);
    } catch (err) {
      if (!had) set.delete(uri);
      throw err;
    }
  }

  private async complete(
    session: ClientSession,
    req: JsonRpcRequest,
    params: Record<string, unknown>,
    signal: LazyAbort,
  ) {
    const ref = params.ref as Record<string, unknown> | undefined;
    if (ref?.type === "ref/prompt") {
      const { server, name } = this.split(ref.name);
      if (!server || name === undefined)
        throw new RpcError(ErrorCodes.InvalidParams, `Unknown prompt: ${String(ref.name)}`);
      return this.forward(session, server, req, { ...params, ref: { ...ref, name } }, signal);
    }
    if (ref?.type === "ref/resource") {
      const server = await this.ownerOf(session, ref.uri);
      return this.forward(session, server, req, params, signal);
    }
    throw new RpcError(
      ErrorCodes.InvalidParams,
      "completion/complete needs params.ref of type ref/prompt or ref/resource",
    );
  }

  private async setLevel(session: ClientSession, params: Record<string, unknown>) {
    await Promise.allSettled(
      this.order
        .filter((s) => s.capabilities.logging !== undefined || s.isolation === "per-session")
        .map(async (s) => {
          const ds =
            s.isolation === "per-session"
              ? await s.acquire(session.id, session.capabilities, s.config.timeoutMs)
              : s.liveConnection();
          if (ds?.serverCapabilities.logging !== undefined) {
            await ds.request("logging/setLevel", params, {
              timeoutMs: s.config.timeoutMs,
              owner: session.id,
            });
          }
        }),
    );
    return {};
  }

  /** Aggregated, namespaced, registry-filtered listing with a cursor that preserves downstream pagination. */
  private async list(
    session: ClientSession,
    method: string,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const key = LIST_KEY[method];
    const capability = LIST_CAPABILITY[method];
    let [index, upstreamCursor] = decodeCursor(params.cursor, this.order.length);
    const items: Array<Record<string, unknown>> = [];
    for (; index < this.order.length; index++, upstreamCursor = undefined) {
      const server = this.order[index];
      let ds: Downstream;
      try {
        ds = await server.acquire(session.id, session.capabilities, server.config.timeoutMs);
      } catch (err) {
        this.opts.log("warn", `${method}: skipping server '${server.name}': ${(err as Error).message}`);
        continue;
      }
      if (ds.serverCapabilities[capability] === undefined) continue;
      let page: Record<string, unknown>;
      try {
        const meta = params._meta;
        const p: Record<string, unknown> = {};
        if (upstreamCursor !== undefined) p.cursor = upstreamCursor;
        if (meta !== undefined) p._meta = meta;
        page = await ds.request(method, p, { timeoutMs: server.config.timeoutMs, owner: session.id });
      } catch (err) {
        this.opts.log("warn", `${method}: server '${server.name}' failed: ${(err as Error).message}`);
        continue;
      }
      const got = (page[key] as Array<Record<string, unknown>>) ?? [];
      items.push(...(await this.transform(session, server, method, got)));
      if (typeof page.nextCursor === "string") {
        return { [key]: items, nextCursor: encodeCursor(index, page.nextCursor) };
      }
    }
    return { [key]: items };
  }

  private async transform(
    session: ClientSession,
    server: UpstreamServer,
    method: string,
    got: Array<Record<string, unknown>>,
  ): Promise<Array<Record<string, unknown>>> {
    const prefix = server.name + this.sep;
    switch (method) {
      case "tools/list": {
        this.toolParams.learn(server.name, server.restarts, got);
        const tools = got.map((t) => ({ ...t, name: prefix + t.name }) as ToolDescriptor);
        const ctx: ListContext = {
          environment: this.opts.environment,
          subject: session.subject,
          session: session.state,
          server: server.name,
        };
        return this.opts.pipeline.filterTools(ctx, tools);
      }
      case "prompts/list":
        return got.map((p) => ({ ...p, name: prefix + p.name }));
      case "resources/list":
        for (const r of got) if (typeof r.uri === "string") this.resourceOwners.set(r.uri, server.name);
        return got;
      default: {
        const compiled: UriTemplate[] = [];
        for (const t of got) {
          try {
            if (typeof t.uriTemplate === "string") compiled.push(new UriTemplate(t.uriTemplate));
          } catch {}
        }
        this.templates.set(server.name, compiled);
        return got.map((t) => ({ ...t, name: prefix + t.name }));
      }
    }
  }

  /** The server that owns a resource URI: learned listings, then templates, then a fresh listing. */
  private async ownerOf(session: ClientSession, uri: unknown): Promise<UpstreamServer> {
    if (typeof uri !== "string" || uri === "")
      throw new RpcError(ErrorCodes.InvalidParams, "params.uri must be a non-empty string");
    let server = this.lookupOwner(uri);
    if (server) return server;
    await this.list(session, "resources/templates/list", {}).catch(() => {});
    server = this.lookupOwner(uri);
    if (server) return server;
    let cursor: string | undefined;
    for (let pages = 0; pages < 20 && !server; pages++) {
      const page = await this.list(session, "resources/list", cursor ? { cursor } : {}).catch(
        () => ({}) as Record<string, unknown>,
      );
      server = this.lookupOwner(uri);
      cursor = page.nextCursor as string | undefined;
      if (!cursor) break;
    }
    if (server) return server;
    const withResources = this.order.filter((s) => s.capabilities.resources !== undefined);
    if (withResources.length === 1) return withResources[0];
    throw new RpcError(ErrorCodes.InvalidParams, `Resource not found: no exposed server owns ${uri}`, {
      uri,
    });
  }

  private lookupOwner(uri: string): UpstreamServer | undefined {
    const name = this.resourceOwners.get(uri);
    if (name) return this.servers.get(name);
    for (const s of this.order) {
      for (const t of this.templates.get(s.name) ?? []) if (t.match(uri)) return s;
    }
    return undefined;
  }

  private clientNotification(session: ClientSession, n: JsonRpcNotification): void {
    switch (n.method) {
      case "notifications/cancelled": {
        const id = n.params?.requestId as Id | undefined;
        if (id !== undefined) session.inflight.get(id)?.abort(n.params?.reason ?? "cancelled by client");
        return;
      }
      case "notifications/roots/list_changed":
        // Only per-session downstreams saw this client's roots capability.
        for (const s of this.order) {
          if (s.isolation === "per-session")
            void s.sessionConnection(session.id).then((ds) => ds?.notify(n.method, n.params));
        }
        return;
      default:
        return; // notifications/initialized and others need no action.
    }
  }

  /** Handlers for one downstream connection; `bound` is the owning session under per-session isolation. */
  handlersFor(server: UpstreamServer, bound?: string): ConnectionHandlers {
    const target = (owners: ReadonlySet<string>): ClientSession | undefined => {
      if (bound) return this.sessions.get(bound);
      if (owners.size === 1) return this.sessions.get(owners.values().next().value as string);
      return undefined;
    };
    return {
      onRequest: async (req, owners, signal) => {
        const session = target(owners);
        if (!session) {
          throw new RpcError(
            ErrorCodes.InternalError,
            owners.size === 0
              ? `mcp-warden: ${req.method} is only available during a client request`
              : `mcp-warden: cannot attribute ${req.method} to one client session (${owners.size} have calls in flight); set isolation: per-session for server '${server.name}'`,
          );
        }
        const capability =
          req.method === "sampling/createMessage"
            ? "sampling"
            : req.method === "elicitation/create"
              ? "elicitation"
              : req.method === "roots/list"
                ? "roots"
                : undefined;
        if (capability && session.capabilities[capability] === undefined) {
          throw new RpcError(ErrorCodes.MethodNotFound, `client does not support ${req.method}`);
        }
        return session.request(req.method, req.params, {
          signal,
          relatedRequestId: session.inflightByServer.get(server.name),
        });
      },
      onNotification: (n, owners) => {
        const m = n.method;
        if (
          m === "notifications/tools/list_changed" ||
          m === "notifications/prompts/list_changed" ||
          m === "notifications/resources/list_changed"
        ) {
          if (m === "notifications/tools/list_changed") this.toolParams.forget(server.name);
          if (bound) this.sessions.get(bound)?.send(n);
          else for (const s of this.sessions.values()) s.send(n);
          return;
        }
        if (m === "notifications/resources/updated") {
          const uri = n.params?.uri as string;
          for (const s of bound ? [this.sessions.get(bound)] : this.sessions.values()) {
            if (s?.subscriptions.get(server.name)?.has(uri)) s.send(n);
          }
          return;
        }
        const session = target(owners);
        if (session) {
          session.send(n, session.inflightByServer.get(server.name));
          return;
        }
        if (m === "notifications/message" && owners.size === 0) {
          // A shared server's own log line, not tied to any call: every session may see server logs.
          for (const s of this.sessions.values()) s.send(n);
          return;
        }
        this.opts.log(
          "debug",
          `dropped ${m} from shared server '${server.name}': cannot attribute it to one session`,
        );
      },
      onClose: (reason) => this.opts.log(bound ? "debug" : "warn", reason),
    };
  }
}

function encodeCursor(index: number, upstream: string | undefined): string {
  return Buffer.from(JSON.stringify(upstream === undefined ? [index] : [index, upstream])).toString(
    "base64url",
  );
}

function decodeCursor(cursor: unknown, servers: number): [number, string | undefined] {
  if (cursor === undefined || cursor === null) return [0, undefined];
  try {
    if (typeof cursor !== "string") throw new Error();
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (!Array.isArray(v) || !Number.isInteger(v[0]) || v[0] < 0 || v[0] > servers) throw new Error();
    if (v[1] !== undefined && typeof v[1] !== "string") throw new Error();
    return [v[0], v[1]];
  } catch {
    throw new RpcError(ErrorCodes.InvalidParams, "Invalid cursor");
  }
}
