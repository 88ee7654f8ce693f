// Multi-round-trip requests (2026-07-28, SEP-2322) for a proxy. A 2026-07-28 client cannot be
// sent server→client requests; when a downstream asks for sampling, elicitation or roots while
// serving such a client's tools/call, prompts/get or resources/read, warden keeps the downstream
// call open, answers the client `input_required` with those requests embedded, and feeds the
// client's `inputResponses` back to the downstream when it retries with the `requestState`
// warden minted. The state stays in warden (the downstream call is live), so `requestState`
// is an unguessable reference to it, bound to the caller, one use per round.
import { randomBytes } from "node:crypto";
import type { Id, JsonRpcMessage } from "../upstream/jsonrpc.js";
import { ErrorCodes } from "../upstream/jsonrpc.js";
import { missingCapabilityFor } from "./revision-2026.js";
import type { ClientSession } from "./session.js";

export interface InputRequest {
  method: string;
  params?: Record<string, unknown>;
}

/** What one round ends with: the final JSON-RPC answer, or requests the client must fulfil. */
export type RoundOutcome =
  | { kind: "final"; message: JsonRpcMessage }
  | { kind: "input"; inputRequests: Record<string, InputRequest> };

const EMBEDDABLE = new Set(["sampling/createMessage", "elicitation/create", "roots/list"]);
const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/** Whether a log message of `level` may be sent to a request that asked for `wanted` (absent: none). */
export function logLevelAllows(wanted: unknown, level: unknown): boolean {
  const w = LOG_LEVELS.indexOf(String(wanted));
  const l = LOG_LEVELS.indexOf(String(level));
  return w >= 0 && l >= w;
}

/**
 * One client request served to a 2026-07-28 client, across its rounds. It owns the session's
 * outgoing traffic: the answer to `requestId`, server→client requests (collected as input
 * requests when `embedInputs`, refused otherwise) and their cancellations.
 */
export class StatelessCall {
  /** Embedded requests sent to the client and not answered yet, keyed by their wire key. */
  private readonly outstanding = new Map<string, { id: Id } & InputRequest>();
  private final?: JsonRpcMessage;
  private wake?: () => void;
  session!: ClientSession;
  /**
   * Where progress and log notifications for the client go while a POST of this call is open
   * (the front door upgrades that POST's answer to SSE); dropped between rounds.
   */
  onNotification?: (msg: JsonRpcMessage) => void;
  /** The request's `io.modelcontextprotocol/logLevel`: without it no log messages are sent. */
  logLevel?: string;

  constructor(
    readonly requestId: Id,
    /** Whether server→client requests may become input_required rounds (tools/call, prompts/get, resources/read). */
    private readonly embedInputs: boolean,
  ) {}

  /** The session's send function: everything the router sends towards this client lands here. */
  readonly onMessage = (msg: JsonRpcMessage): void => {
    if ("method" in msg) {
      if ("id" in msg && msg.id !== undefined && msg.id !== null) {
        this.inputRequest(msg.id, msg.method, msg.params as Record<string, unknown> | undefined);
      } else if (msg.method === "notifications/cancelled") {
        // The downstream gave up on one of its requests: stop asking the client for it.
        const id = (msg.params as { requestId?: Id } | undefined)?.requestId;
        if (id !== undefined) this.outstanding.delete(String(id));
      } else if (
        msg.method === "notifications/progress" ||
        (msg.method === "notifications/message" && logLevelAllows(this.logLevel, msg.params?.level))
      ) {
        this.onNotification?.(msg);
      }
      return;
    }
    if ("id" in msg && msg.id === this.requestId) {
      this.final = msg;
      this.wake?.();
    }
  };

  private inputRequest(id: Id, method: string, params: Record<string, unknown> | undefined): void {
    const refuse = (message: string) =>
      this.session.answer(id, undefined, { code: ErrorCodes.MethodNotFound, message });
    if (!this.embedInputs || !EMBEDDABLE.has(method)) {
      refuse(`mcp-warden: ${method} is not available to a 2026-07-28 client during this request`);
      return;
    }
    const missing = missingCapabilityFor(method, params, this.session.capabilities);
    if (missing) {
      refuse(`client does not support ${method} (missing capability ${JSON.stringify(missing)})`);
      return;
    }
    const entry: { id: Id } & InputRequest = { id, method };
    if (params !== undefined) {
      // Embedded requests carry no JSON-RPC envelope of their own; drop a stray _meta progress token.
      const { _meta: _m, ...rest } = params;
      entry.params = rest;
    }
    this.outstanding.set(String(id), entry);
    this.wake?.();
  }

  /**
   * Resolves when the call has its final answer, or has input requests for the client. Requests
   * arriving together (one event-loop turn) go out in one round.
   */
  next(): Promise<RoundOutcome> {
    return new Promise((resolve) => {
      const settle = () => {
        if (this.final) {
          this.wake = undefined;
          resolve({ kind: "final", message: this.final });
          return true;
        }
        if (this.outstanding.size > 0) {
          this.wake = undefined;
          setImmediate(() => {
            if (this.final) return resolve({ kind: "final", message: this.final });
            const inputRequests: Record<string, InputRequest> = {};
            for (const [key, { method, params }] of this.outstanding)
              inputRequests[key] = params === undefined ? { method } : { method, params };
            if (Object.keys(inputRequests).length === 0) return this.next().then(resolve);
            resolve({ kind: "input", inputRequests });
          });
          return true;
        }
        return false;
      };
      if (!settle()) this.wake = () => void settle();
    });
  }

  /** Delivers the client's responses; keys that name no outstanding request are ignored. */
  deliver(inputResponses: unknown): void {
    if (typeof inputResponses !== "object" || inputResponses === null || Array.isArray(inputResponses))
      return;
    for (const [key, value] of Object.entries(inputResponses as Record<string, unknown>)) {
      const entry = this.outstanding.get(key);
      if (!entry || typeof value !== "object" || value === null || Array.isArray(value)) continue;
      this.outstanding.delete(key);
      this.session.answer(entry.id, value as Record<string, unknown>);
    }
  }

  /** Cancels the downstream work (the client went away or never came back). */
  abort(reason: string): void {
    this.session.inflight.get(this.requestId)?.abort(reason);
  }
}

export interface ParkedCall {
  call: StatelessCall;
  owner: string;
  method: string;
  /** params.name or params.uri of the original request: a retry must name the same target. */
  target: unknown;
  round: number;
  timer: NodeJS.Timeout;
}

/** Calls waiting for a client's retry, by call id; the requestState is `<call id>.<round>`. */
export class ParkedCalls {
  private readonly calls = new Map<string, ParkedCall>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly expire: (parked: ParkedCall) => void,
  ) {}

  get size(): number {
    return this.calls.size;
  }

  /** Parks a call and returns the requestState for this round, or undefined when full. */
  park(
    entry: Omit<ParkedCall, "timer" | "round">,
    previous?: { id: string; round: number },
  ): string | undefined {
    if (!previous && this.calls.size >= this.max) return undefined;
    const id = previous?.id ?? randomBytes(18).toString("base64url");
    const round = (previous?.round ?? 0) + 1;
    const timer = setTimeout(() => {
      if (this.calls.get(id)?.round === round) {
        this.calls.delete(id);
        this.expire(parked);
      }
    }, this.ttlMs);
    timer.unref();
    const parked: ParkedCall = { ...entry, round, timer };
    this.calls.set(id, parked);
    return `${id}.${round}`;
  }

  /**
   * Takes the call a requestState refers to out of the table (so a second retry with the same
   * state fails), if it exists, belongs to `owner`, is at that round and `matches` the retry.
   */
  take(
    requestState: unknown,
    owner: string,
    matches: (parked: ParkedCall) => boolean,
  ): { parked: ParkedCall; id: string } | undefined {
    if (typeof requestState !== "string") return undefined;
    const dot = requestState.lastIndexOf(".");
    const id = requestState.slice(0, dot);
    const parked = this.calls.get(id);
    if (!parked || parked.owner !== owner || `${parked.round}` !== requestState.slice(dot + 1))
      return undefined;
    if (!matches(parked)) return undefined;
    this.calls.delete(id);
    clearTimeout(parked.timer);
    return { parked, id };
  }

  /** Every parked call (shutdown). */
  drain(): ParkedCall[] {
    const all = [...this.calls.values()];
    for (const p of all) clearTimeout(p.timer);
    this.calls.clear();
    return all;
  }
}
