// One initialized JSON-RPC session with a downstream server: request/response correlation,
// per-call timeouts, cancellation, progress routing and server→client requests.

import { type BusyPoll, requestSettled, requestStarted } from "./busy-poll.js";
import type { AbortLike } from "./cancel.js";
import {
  ErrorCodes,
  type Id,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  RpcError,
} from "./jsonrpc.js";
import { type RawRequest, RawResult } from "./ndjson.js";
import { SlotMap } from "./slot-map.js";
import type { Wire } from "./wire.js";

export const UPSTREAM_PROTOCOL_VERSION = "2025-11-25";

/** One request waiting for its answer. Settling it twice is a no-op. */
class Pending {
  onAbort?: () => void;
  /** With busy-polling: when the request was written (performance.now()) and whether it holds the loop. */
  sentAt?: number;
  polling = false;
  private done = false;

  constructor(
    private readonly conn: UpstreamConnection,
    readonly id: number,
    readonly method: string,
    readonly opts: RequestOptions,
    readonly token: string | undefined,
    /** Date.now() after which the request times out. */
    readonly deadline: number,
    private readonly onResolve: (result: Record<string, unknown>) => void,
    private readonly onReject: (err: Error) => void,
  ) {}

  get raw(): boolean | undefined {
    return this.opts.raw;
  }

  resolve(result: Record<string, unknown>): void {
    if (this.done) return;
    this.done = true;
    this.conn.settled(this);
    this.onResolve(result);
  }

  reject(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.conn.settled(this);
    this.onReject(err);
  }
}

export interface RequestOptions {
  timeoutMs: number;
  signal?: AbortLike;
  /** Client session on whose behalf the request is made (routes server→client requests back to it). */
  owner?: string;
  /** Receives notifications/progress for this request; the progress token is rewritten to be unique. */
  onProgress?: (params: Record<string, unknown>) => void;
  /**
   * The caller forwards the result untouched: a success answer may resolve as a RawResult
   * (bytes, not parsed) when the wire supports it. Only for results nobody inspects.
   */
  raw?: boolean;
  /**
   * Called once, synchronously, when the request settles (answered, failed, timed out or
   * cancelled), before any reaction to its promise runs: bookkeeping without a promise
   * reaction of its own. Only Downstreams whose `callsOnSettled` is true call it.
   */
  onSettled?: () => void;
}

export interface ConnectionHandlers {
  /** A server→client request (sampling, elicitation, roots); `owners` are sessions with calls in flight. */
  onRequest(
    req: JsonRpcRequest,
    owners: ReadonlySet<string>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>>;
  onNotification(n: JsonRpcNotification, owners: ReadonlySet<string>): void;
  onClose(reason: string): void;
}

export class UpstreamConnection {
  /** RequestOptions.onSettled is honoured. */
  readonly callsOnSettled = true;
  private nextId = 1;
  // Per-call entries: SlotMaps (no table reallocated per call, see slot-map.ts).
  private readonly pending = new SlotMap<Id, Pending>();
  private readonly progress = new Map<string, (p: Record<string, unknown>) => void>();
  private readonly incoming = new Map<Id, AbortController>();
  private readonly ownerCounts = new SlotMap<string, number>();
  /** One timer per connection for all call timeouts (see sweep), armed for the earliest deadline. */
  private sweepTimer?: NodeJS.Timeout;
  private sweepAt = Number.POSITIVE_INFINITY;
  private closedReason?: string;
  serverCapabilities: Record<string, unknown> = {};
  serverInfo?: { name: string; version: string };
  instructions?: string;
  protocolVersion = UPSTREAM_PROTOCOL_VERSION;

  constructor(
    readonly name: string,
    private readonly wire: Wire,
    private readonly handlers: ConnectionHandlers,
    /** Keeps the event loop turning while this server's fast answers are due (busy-poll.ts). */
    private readonly busyPoll?: BusyPoll,
  ) {
    wire.onmessage = (m) => this.dispatch(m);
    if (wire.supportsRaw) {
      wire.onrawresult = (id, line, idStart) => {
        const entry = this.pending.get(id);
        if (!entry?.raw) return false;
        entry.resolve(new RawResult(line, idStart) as unknown as Record<string, unknown>);
        return true;
      };
    }
    wire.onclose = (reason) => this.closed(reason);
  }

  get pid(): number | undefined {
    return this.wire.pid;
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  async initialize(clientCapabilities: Record<string, unknown>, timeoutMs: number): Promise<void> {
    const result = await this.request(
      "initialize",
      {
        protocolVersion: UPSTREAM_PROTOCOL_VERSION,
        capabilities: clientCapabilities,
        clientInfo: { name: "mcp-warden", version: "0.1.0" },
      },
      { timeoutMs },
    );
    this.protocolVersion = String(result.protocolVersion ?? UPSTREAM_PROTOCOL_VERSION);
    this.serverCapabilities = (result.capabilities as Record<string, unknown>) ?? {};
    this.serverInfo = result.serverInfo as { name: string; version: string } | undefined;
    this.instructions = result.instructions as string | undefined;
    this.wire.setProtocolVersion?.(this.protocolVersion);
    this.notify("notifications/initialized");
  }

  notify(method: string, params?: Record<string, unknown>): void {
    if (this.closedReason) return;
    this.wire.send(params ? { jsonrpc: "2.0", method, params } : { jsonrpc: "2.0", method });
  }

  request(
    method: string,
    params: Record<string, unknown> | undefined,
    opts: RequestOptions,
  ): Promise<Record<string, unknown>> {
    return this.track(method, opts, (id, token) => {
      let sendParams = params;
      if (token) {
        const meta = { ...((params?._meta as Record<string, unknown>) ?? {}), progressToken: token };
        sendParams = { ...params, _meta: meta };
      }
      this.wire.send(
        sendParams ? { jsonrpc: "2.0", id, method, params: sendParams } : { jsonrpc: "2.0", id, method },
      );
    });
  }

  /**
   * Forwards a client's tools/call as bytes: the same correlation as request(), with the id, tool
   * name and progress token replaced in the line. Wires that cannot send raw lines get the
   * parsed message instead.
   */
  requestRaw(raw: RawRequest, name: string, opts: RequestOptions): Promise<Record<string, unknown>> {
    const wire = this.wire;
    if (!wire.sendRaw) return this.request("tools/call", { ...raw.message().params, name }, opts);
    return this.track("tools/call", opts, (id, token) => {
      wire.sendRaw?.(raw.rewrite(id, name, token), id);
    });
  }

  /** Registers a pending request (timeout, cancellation, progress, owner) and sends it with its id. */
  private track(
    method: string,
    opts: RequestOptions,
    send: (id: number, progressToken: string | undefined) => void,
  ): Promise<Record<string, unknown>> {
    if (this.closedReason || opts.signal?.aborted) {
      opts.onSettled?.();
      return Promise.reject(
        this.closedReason
          ? new RpcError(ErrorCodes.Downstream, this.closedReason)
          : new RpcError(ErrorCodes.RequestCancelled, "request cancelled"),
      );
    }
    const id = this.nextId++;
    let token: string | undefined;
    if (opts.onProgress) {
      // Progress tokens from different client sessions may collide on a shared server: use our own.
      token = `w${id}`;
      this.progress.set(token, opts.onProgress);
    }
    const deadline = Date.now() + opts.timeoutMs;
    return new Promise((resolve, reject) => {
      const entry = new Pending(this, id, method, opts, token, deadline, resolve, reject);
      if (deadline < this.sweepAt) this.armSweep(deadline);
      const signal = opts.signal;
      if (signal) {
        entry.onAbort = () => {
          this.notify("notifications/cancelled", {
            requestId: id,
            reason: String(signal.reason ?? "cancelled"),
          });
          entry.reject(new RpcError(ErrorCodes.RequestCancelled, "request cancelled"));
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      if (opts.owner) this.ownerCounts.set(opts.owner, (this.ownerCounts.get(opts.owner) ?? 0) + 1);
      this.pending.set(id, entry);
      requestStarted();
      try {
        send(id, token);
        // The handshake's time is the server starting up, not how fast it answers: not counted.
        if (this.busyPoll && method !== "initialize") {
          entry.sentAt = performance.now();
          entry.polling = this.busyPoll.sent(entry.sentAt);
        }
      } catch (err) {
        entry.reject(err as Error); // forgotten at once, not at its deadline
      }
    });
  }

  /** Called once by a Pending when it settles: forgets it everywhere. */
  settled(entry: Pending): void {
    this.pending.delete(entry.id);
    if (entry.sentAt !== undefined) this.busyPoll?.answered(entry.sentAt, entry.polling);
    requestSettled();
    if (entry.onAbort) entry.opts.signal?.removeEventListener("abort", entry.onAbort);
    if (entry.token) this.progress.delete(entry.token);
    if (entry.opts.owner) this.releaseOwner(entry.opts.owner);
    entry.opts.onSettled?.();
  }

  // Call timeouts without a timer per call: one timer fires at the earliest deadline, fails the
  // requests that are due and re-arms for the next one. Requests that were answered in time are
  // simply gone from `pending` by then.
  private armSweep(at: number): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(this.sweep, Math.max(0, at - Date.now()));
    // The wire (child pipes, sockets) keeps the process alive while calls are in flight.
    this.sweepTimer.unref();
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    this.sweepAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const entry of [...this.pending.values()]) {
      if (entry.deadline <= now) this.timedOut(entry);
      else if (entry.deadline < next) next = entry.deadline;
    }
    if (next !== Number.POSITIVE_INFINITY && !this.closedReason) this.armSweep(next);
  };

  private timedOut(entry: Pending): void {
    this.notify("notifications/cancelled", { requestId: entry.id, reason: "timeout" });
    const { timeoutMs } = entry.opts;
    entry.reject(
      new RpcError(
        ErrorCodes.Downstream,
        `server '${this.name}' did not answer ${entry.method} within ${timeoutMs} ms`,
        { server: this.name, timeoutMs },
      ),
    );
  }

  private releaseOwner(owner: string) {
    const n = (this.ownerCounts.get(owner) ?? 1) - 1;
    if (n <= 0) this.ownerCounts.delete(owner);
    else this.ownerCounts.set(owner, n);
  }

  /** Sessions with requests in flight on this connection. */
  owners(): ReadonlySet<string> {
    return new Set(this.ownerCounts.keys());
  }

  private dispatch(m: JsonRpcMessage) {
    if ("method" in m) {
      if ("id" in m && m.id !== undefined && m.id !== null) return this.serveRequest(m as JsonRpcRequest);
      const n = m as JsonRpcNotification;
      if (n.method === "notifications/progress") {
        const token = n.params?.progressToken;
        const handler = typeof token === "string" ? this.progress.get(token) : undefined;
        if (handler) handler(n.params as Record<string, unknown>);
        return;
      }
      if (n.method === "notifications/cancelled") {
        const rid = n.params?.requestId as Id | undefined;
        if (rid !== undefined) this.incoming.get(rid)?.abort(n.params?.reason ?? "cancelled by server");
        return;
      }
      this.handlers.onNotification(n, this.owners());
      return;
    }
    const entry = this.pending.get((m as { id: Id }).id);
    if (!entry) return; // Late answer after timeout/cancel: dropped.
    if ("error" in m) {
      const e = m.error;
      entry.reject(new RpcError(e?.code ?? ErrorCodes.InternalError, e?.message ?? "error", e?.data));
    } else entry.resolve(m.result ?? {});
  }

  private serveRequest(req: JsonRpcRequest) {
    if (req.method === "ping") {
      this.wire.send({ jsonrpc: "2.0", id: req.id, result: {} });
      return;
    }
    const ac = new AbortController();
    this.incoming.set(req.id, ac);
    this.handlers.onRequest(req, this.owners(), ac.signal).then(
      (result) => {
        this.incoming.delete(req.id);
        if (!ac.signal.aborted && !this.closedReason) this.wire.send({ jsonrpc: "2.0", id: req.id, result });
      },
      (err: Error) => {
        this.incoming.delete(req.id);
        if (ac.signal.aborted || this.closedReason) return;
        const e =
          err instanceof RpcError ? err.toJSON() : { code: ErrorCodes.InternalError, message: err.message };
        this.wire.send({ jsonrpc: "2.0", id: req.id, error: e });
      },
    );
  }

  private closed(reason: string) {
    if (this.closedReason) return;
    this.closedReason = reason;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    const err = new RpcError(ErrorCodes.Downstream, `${reason} before answering`, { server: this.name });
    for (const entry of [...this.pending.values()]) entry.reject(err);
    for (const ac of this.incoming.values()) ac.abort(reason);
    this.handlers.onClose(reason);
  }

  async close(): Promise<void> {
    if (!this.closedReason) {
      this.closedReason = `server '${this.name}' closed`;
      if (this.sweepTimer) clearTimeout(this.sweepTimer);
      for (const entry of [...this.pending.values()])
        entry.reject(new RpcError(ErrorCodes.Downstream, "warden is shutting down"));
    }
    await this.wire.close();
  }
}
