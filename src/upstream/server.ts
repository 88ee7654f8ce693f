// One configured downstream server: its connection(s), health state and restart-with-backoff.
// Shared isolation keeps one connection for all client sessions; per-session gives each its own.
import type { ServerConfig } from "../config/schema.js";
import type { LocalToolProvider } from "../pipeline/types.js";
import { BusyPoll, serverBusyPollBudget } from "./busy-poll.js";
import { type ConnectionHandlers, type RequestOptions, UpstreamConnection } from "./connection.js";
import { connectHttpWire } from "./http-wire.js";
import { ErrorCodes, RpcError } from "./jsonrpc.js";
import type { RawRequest } from "./ndjson.js";
import { spawnStdioWire } from "./stdio-wire.js";
import type { Wire } from "./wire.js";

export type ServerState = "starting" | "ready" | "restarting" | "failed" | "closed";

export interface ServerStatus {
  name: string;
  kind: "stdio" | "streamable-http" | "sse" | "builtin";
  isolation: "shared" | "per-session";
  state: ServerState;
  restarts: number;
  lastError?: string;
  pid?: number;
  /** Per-session isolation: number of live downstream connections. */
  connections: number;
  serverInfo?: { name: string; version: string };
}

/** What the router calls: a connected downstream (or an in-process provider). */
export interface Downstream {
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    opts: RequestOptions,
  ): Promise<Record<string, unknown>>;
  notify(method: string, params?: Record<string, unknown>): void;
  /** Forwards a client's tools/call as bytes (connections; providers take the parsed request). */
  requestRaw?(raw: RawRequest, name: string, opts: RequestOptions): Promise<Record<string, unknown>>;
  readonly serverCapabilities: Record<string, unknown>;
  /** True when request() calls RequestOptions.onSettled (connections; providers do not). */
  readonly callsOnSettled?: boolean;
}

export interface ServerDeps {
  handlers(server: UpstreamServer, boundSession?: string): ConnectionHandlers;
  log(level: "info" | "warn" | "error" | "debug", msg: string): void;
  provider?: LocalToolProvider;
}

/** Capabilities warden declares to shared downstreams: it can route these to the calling client. */
const SHARED_CLIENT_CAPABILITIES = { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } };

export class UpstreamServer {
  state: ServerState = "starting";
  restarts = 0;
  lastError?: string;
  private shared?: UpstreamConnection;
  private ready?: Promise<UpstreamConnection>;
  private readonly perSession = new Map<string, Promise<UpstreamConnection>>();
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private local?: Downstream;

  constructor(
    readonly name: string,
    readonly config: ServerConfig,
    private readonly deps: ServerDeps,
  ) {}

  get kind(): ServerStatus["kind"] {
    if ("command" in this.config) return "stdio";
    if ("url" in this.config) return this.config.transport;
    return "builtin";
  }

  get isolation() {
    return this.config.isolation;
  }

  /** Capabilities of the shared connection (or the provider); per-session servers report after first use. */
  get capabilities(): Record<string, unknown> {
    if (this.local) return this.local.serverCapabilities;
    return this.shared?.serverCapabilities ?? this.lastSessionCapabilities ?? {};
  }
  private lastSessionCapabilities?: Record<string, unknown>;

  /** Connects (shared) or validates (per-session: connects lazily per client session). */
  async start(): Promise<void> {
    if ("builtin" in this.config) {
      const provider = this.deps.provider;
      if (!provider) {
        this.state = "failed";
        this.lastError = `no LocalToolProvider named '${this.config.builtin}' was given to createWarden({ providers })`;
        this.deps.log("error", this.lastError);
        return;
      }
      this.local = providerDownstream(this.name, provider);
      this.state = "ready";
      return;
    }
    if (this.isolation === "per-session") {
      this.state = "ready";
      return;
    }
    this.ready = this.connectShared();
    await this.ready.catch(() => {});
  }

  private async connectShared(): Promise<UpstreamConnection> {
    try {
      const conn = await this.open(SHARED_CLIENT_CAPABILITIES);
      this.shared = conn;
      this.state = "ready";
      this.attempt = 0;
      this.lastError = undefined;
      this.deps.log("info", `server '${this.name}' ready${conn.pid ? ` (pid ${conn.pid})` : ""}`);
      return conn;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.scheduleRestart();
      throw err;
    }
  }

  private async open(
    clientCapabilities: Record<string, unknown>,
    boundSession?: string,
  ): Promise<UpstreamConnection> {
    const handlers = this.deps.handlers(this, boundSession);
    let conn: UpstreamConnection | undefined;
    const wrapped: ConnectionHandlers = {
      onRequest: handlers.onRequest,
      onNotification: handlers.onNotification,
      onClose: (reason) => {
        handlers.onClose(reason);
        if (conn && conn === this.shared) this.sharedLost(reason);
        if (boundSession) this.perSession.delete(boundSession);
      },
    };
    let wire: Wire;
    if ("command" in this.config) {
      wire = await spawnStdioWire(
        this.name,
        this.config,
        (line) => this.deps.log("debug", `[${this.name}] ${line}`),
        (msg) => this.deps.log("warn", msg),
      );
    } else if ("url" in this.config) {
      wire = await connectHttpWire(this.name, this.config, (msg) => this.deps.log("warn", msg));
    } else throw new Error("builtin servers have no wire");
    const budget = serverBusyPollBudget(this.config.busyPollMicros, "command" in this.config);
    const busyPoll = budget ? new BusyPoll(budget.micros, budget.adaptive) : undefined;
    conn = new UpstreamConnection(this.name, wire, wrapped, busyPoll);
    try {
      await conn.initialize(clientCapabilities, this.config.startupTimeoutMs);
    } catch (err) {
      await conn.close().catch(() => {});
      throw new Error(`server '${this.name}' failed to initialize: ${(err as Error).message}`);
    }
    return conn;
  }

  private sharedLost(reason: string) {
    this.shared = undefined;
    if (this.state === "closed") return;
    this.lastError = reason;
    this.deps.log("warn", `${reason}; restarting`);
    this.scheduleRestart();
  }

  private scheduleRestart() {
    if (this.state === "closed") return;
    const { initialDelayMs, maxDelayMs, maxAttempts } = this.config.restart;
    if (maxAttempts > 0 && this.attempt >= maxAttempts) {
      this.state = "failed";
      this.ready = Promise.reject(new Error(this.lastError));
      this.ready.catch(() => {});
      this.deps.log(
        "error",
        `server '${this.name}' failed ${this.attempt} restarts; giving up: ${this.lastError}`,
      );
      return;
    }
    const delay = Math.min(initialDelayMs * 2 ** this.attempt, maxDelayMs);
    this.attempt++;
    this.state = "restarting";
    let release!: (c: UpstreamConnection) => void;
    let fail!: (e: Error) => void;
    const next = new Promise<UpstreamConnection>((res, rej) => {
      release = res;
      fail = rej;
    });
    next.catch(() => {});
    this.ready = next;
    this.retryTimer = setTimeout(() => {
      this.restarts++;
      this.connectShared().then(release, fail);
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * The downstream acquire() would return at once, without waiting (a running shared or in-process
   * server); undefined when acquire() has to decide (per-session, starting, restarting, failed).
   */
  readyConnection(): Downstream | undefined {
    if (this.local) return this.local;
    if (this.state === "closed" || this.state === "failed" || this.isolation === "per-session")
      return undefined;
    return this.shared && !this.shared.isClosed ? this.shared : undefined;
  }

  /** The downstream to use for a request from `sessionId`, waiting up to `timeoutMs` for a restart. */
  async acquire(
    sessionId: string,
    clientCapabilities: Record<string, unknown>,
    timeoutMs: number,
  ): Promise<Downstream> {
    if (this.local) return this.local;
    if (
      this.state === "closed" ||
      this.state === "failed" ||
      (this.state === "starting" && !this.ready && this.isolation !== "per-session")
    ) {
      throw new RpcError(
        ErrorCodes.Downstream,
        `server '${this.name}' is unavailable: ${this.lastError ?? this.state}`,
        { server: this.name },
      );
    }
    if (this.isolation === "per-session") {
      let p = this.perSession.get(sessionId);
      if (!p) {
        p = this.open(clientCapabilities, sessionId);
        this.perSession.set(sessionId, p);
        p.then(
          (c) => {
            this.lastSessionCapabilities = c.serverCapabilities;
          },
          (err: Error) => {
            this.perSession.delete(sessionId);
            this.lastError = err.message;
          },
        );
      }
      try {
        return await p;
      } catch (err) {
        throw new RpcError(ErrorCodes.Downstream, (err as Error).message, { server: this.name });
      }
    }
    if (this.shared && !this.shared.isClosed) return this.shared;
    return await withTimeout(
      this.ready as Promise<UpstreamConnection>,
      timeoutMs,
      () =>
        new RpcError(
          ErrorCodes.Downstream,
          `server '${this.name}' is unavailable (${this.state}: ${this.lastError ?? "starting"})`,
          {
            server: this.name,
          },
        ),
    ).catch((err: Error) => {
      throw err instanceof RpcError
        ? err
        : new RpcError(ErrorCodes.Downstream, `server '${this.name}' is unavailable: ${err.message}`);
    });
  }

  /** Connections usable right now without starting anything (for broadcasts like logging/setLevel). */
  liveConnection(): Downstream | undefined {
    if (this.local) return this.local;
    return this.isolation === "per-session" ? undefined : this.shared;
  }

  async sessionConnection(sessionId: string): Promise<Downstream | undefined> {
    const p = this.perSession.get(sessionId);
    return p ? p.catch(() => undefined) : undefined;
  }

  async releaseSession(sessionId: string): Promise<void> {
    const p = this.perSession.get(sessionId);
    if (!p) return;
    this.perSession.delete(sessionId);
    const conn = await p.catch(() => undefined);
    await conn?.close().catch(() => {});
  }

  status(): ServerStatus {
    return {
      name: this.name,
      kind: this.kind,
      isolation: this.isolation,
      state: this.state,
      restarts: this.restarts,
      lastError: this.lastError,
      pid: this.shared?.pid,
      connections: this.isolation === "per-session" ? this.perSession.size : this.shared ? 1 : 0,
      serverInfo: this.shared?.serverInfo,
    };
  }

  async close(): Promise<void> {
    this.state = "closed";
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const conns: Array<Promise<unknown>> = [];
    if (this.shared) conns.push(this.shared.close());
    for (const p of this.perSession.values()) conns.push(p.then((c) => c.close()).catch(() => {}));
    this.perSession.clear();
    await Promise.allSettled(conns);
    await this.deps.provider?.close?.();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Mounts an in-process LocalToolProvider as if it were a server (tools only). */
function providerDownstream(name: string, provider: LocalToolProvider): Downstream {
  return {
    serverCapabilities: { tools: {} },
    notify() {},
    async request(method, params, opts) {
      if (method === "tools/list") return { tools: await provider.listTools() };
      if (method === "tools/call") {
        const ac = new AbortController();
        const onAbort = () => ac.abort(opts.signal?.reason);
        opts.signal?.addEventListener("abort", onAbort, { once: true });
        const timer = setTimeout(() => ac.abort("timeout"), opts.timeoutMs);
        try {
          const call = provider.callTool(
            String(params?.name),
            (params?.arguments as Record<string, unknown>) ?? {},
            ac.signal,
          );
          const aborted = new Promise<never>((_, reject) =>
            ac.signal.addEventListener("abort", () =>
              reject(
                ac.signal.reason === "timeout"
                  ? new RpcError(
                      ErrorCodes.Downstream,
                      `server '${name}' did not answer tools/call within ${opts.timeoutMs} ms`,
                    )
                  : new RpcError(ErrorCodes.RequestCancelled, "request cancelled"),
              ),
            ),
          );
          return (await Promise.race([call, aborted])) as Record<string, unknown>;
        } finally {
          clearTimeout(timer);
          opts.signal?.removeEventListener("abort", onAbort);
        }
      }
      if (method === "ping") return {};
      throw new RpcError(ErrorCodes.MethodNotFound, `server '${name}' (builtin) does not support ${method}`);
    },
  };
}
