// One client session (a stdio connection, a Streamable HTTP session or a legacy SSE connection):
// the client's identity and capabilities, its in-flight requests, and requests warden sends to it.
import type { ClientChannel, SessionState, Subject } from "../pipeline/types.js";
import { ErrorCodes, type Id, type JsonRpcMessage, RpcError } from "../upstream/jsonrpc.js";
import type { RawResult } from "../upstream/ndjson.js";
import { SlotMap } from "../upstream/slot-map.js";

export type FrontTransport = "stdio" | "http" | "sse";

/** Sends one message to the client; `relatedRequestId` keeps it on that request's HTTP stream. */
export type SendFn = (message: JsonRpcMessage, relatedRequestId?: Id) => void;

interface OutgoingPending {
  resolve(r: Record<string, unknown>): void;
  reject(e: Error): void;
}

export class ClientSession implements ClientChannel {
  capabilities: Record<string, unknown> = {};
  clientInfo?: { name: string; version: string };
  protocolVersion?: string;
  readonly state: SessionState;
  /**
   * Client request id → controller aborted by notifications/cancelled or session close. (A
   * SlotMap, like the other per-call maps: an entry is added and removed on every call.)
   */
  readonly inflight = new SlotMap<Id, { abort(reason?: unknown): void }>();
  /** Latest in-flight client request per downstream server (the HTTP stream for server→client traffic). */
  readonly inflightByServer = new SlotMap<string, Id>();
  /** server → subscribed resource URIs. */
  readonly subscriptions = new Map<string, Set<string>>();
  private nextOutgoingId = 1;
  private readonly outgoing = new Map<Id, OutgoingPending>();
  closed = false;
  /** Front doors that can write a downstream's result bytes as they are set this (hot path). */
  sendRaw?: (raw: RawResult, id: Id) => void;

  constructor(
    readonly id: string,
    readonly transport: FrontTransport,
    public subject: Subject,
    readonly send: SendFn,
  ) {
    this.state = { id, callCount: 0, toolsCalled: [], flags: {} };
  }

  /** Bound for CallContext.client: asks this client for input (approval stages). */
  elicit = (params: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>> => {
    if (!this.capabilities.elicitation) {
      return Promise.reject(new RpcError(ErrorCodes.InvalidRequest, "client does not support elicitation"));
    }
    return this.request("elicitation/create", params, { signal });
  };

  /** Sends a request to the client and resolves with its result. */
  request(
    method: string,
    params: Record<string, unknown> | undefined,
    opts: { signal?: AbortSignal; relatedRequestId?: Id } = {},
  ): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new RpcError(ErrorCodes.Downstream, "client session closed"));
    const id = this.nextOutgoingId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.outgoing.delete(id);
        this.send(
          {
            jsonrpc: "2.0",
            method: "notifications/cancelled",
            params: { requestId: id, reason: String(opts.signal?.reason ?? "cancelled") },
          },
          opts.relatedRequestId,
        );
        reject(new RpcError(ErrorCodes.RequestCancelled, "request cancelled"));
      };
      if (opts.signal) {
        if (opts.signal.aborted)
          return reject(new RpcError(ErrorCodes.RequestCancelled, "request cancelled"));
        opts.signal.addEventListener("abort", onAbort, { once: true });
      }
      this.outgoing.set(id, {
        resolve: (r) => {
          opts.signal?.removeEventListener("abort", onAbort);
          resolve(r);
        },
        reject: (e) => {
          opts.signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
      this.send(
        params ? { jsonrpc: "2.0", id, method, params } : { jsonrpc: "2.0", id, method },
        opts.relatedRequestId,
      );
    });
  }

  /** Delivers the client's answer to a request warden sent; false if nobody waits for it. */
  answer(
    id: Id,
    result?: Record<string, unknown>,
    error?: { code: number; message: string; data?: unknown },
  ): boolean {
    const p = this.outgoing.get(id);
    if (!p) return false;
    this.outgoing.delete(id);
    if (error) p.reject(new RpcError(error.code, error.message, error.data));
    else p.resolve(result ?? {});
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ac of this.inflight.values()) ac.abort("client session closed");
    this.inflight.clear();
    for (const p of this.outgoing.values())
      p.reject(new RpcError(ErrorCodes.Downstream, "client session closed"));
    this.outgoing.clear();
  }
}
