// `subscriptions/listen` (2026-07-28): the stateless revision's only long-lived channel. The
// POST is answered with an SSE stream that starts with notifications/subscriptions/acknowledged
// (the honored filter) and then carries the list_changed / resources/updated notifications the
// client opted into, each stamped with the listen request's id. Behind it sits an ordinary
// warden client session, so routing (shared or per-session servers, downstream resource
// subscriptions) is the router's, and nothing the client did not ask for is written.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Subject } from "../pipeline/types.js";
import type { Id, JsonRpcMessage, JsonRpcRequest } from "../upstream/jsonrpc.js";
import type { LogFn } from "./logger.js";
import { META_SERVER_INFO, META_SUBSCRIPTION_ID } from "./revision-2026.js";
import { WARDEN_INFO } from "./router.js";
import type { Warden } from "./warden.js";

export interface SubscriptionFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

const KEEPALIVE_MS = 25_000;
export const MAX_LISTEN_STREAMS = 1024;

const FLAG_BY_METHOD: Record<string, keyof SubscriptionFilter> = {
  "notifications/tools/list_changed": "toolsListChanged",
  "notifications/prompts/list_changed": "promptsListChanged",
  "notifications/resources/list_changed": "resourcesListChanged",
};

/** The filter from `params.notifications`, or undefined when it is missing or malformed. */
export function parseFilter(params: Record<string, unknown> | undefined): SubscriptionFilter | undefined {
  const n = params?.notifications;
  if (typeof n !== "object" || n === null || Array.isArray(n)) return undefined;
  const f = n as Record<string, unknown>;
  for (const k of ["toolsListChanged", "promptsListChanged", "resourcesListChanged"]) {
    if (f[k] !== undefined && typeof f[k] !== "boolean") return undefined;
  }
  const subs = f.resourceSubscriptions;
  if (subs !== undefined && !(Array.isArray(subs) && subs.every((s) => typeof s === "string")))
    return undefined;
  return f as SubscriptionFilter;
}

/**
 * What warden agrees to deliver: only the fields the client set (false and absent dropped).
 * Warden declares listChanged for tools, prompts and resources and resource subscriptions,
 * so every requested type is honored.
 */
export function honoredSubset(requested: SubscriptionFilter): SubscriptionFilter {
  const honored: SubscriptionFilter = {};
  if (requested.toolsListChanged === true) honored.toolsListChanged = true;
  if (requested.promptsListChanged === true) honored.promptsListChanged = true;
  if (requested.resourcesListChanged === true) honored.resourcesListChanged = true;
  if (requested.resourceSubscriptions?.length)
    honored.resourceSubscriptions = [...new Set(requested.resourceSubscriptions)];
  return honored;
}

/** Where one subscription's messages go. */
export interface ListenSink {
  write(msg: JsonRpcMessage): void;
  /** After the last message (HTTP: end the SSE response). */
  end(): void;
  /** Called when the client goes away (HTTP: the response closed). */
  onClose(cb: () => void): void;
  /** A keep-alive write for idle streams (HTTP: an SSE comment). */
  keepalive?(): void;
}

/** An SSE response as a listen sink. */
export function sseSink(req: IncomingMessage, res: ServerResponse): ListenSink {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.flushHeaders();
  req.socket.setTimeout(0);
  return {
    write: (msg) => void res.write(`event: message\ndata: ${JSON.stringify(msg)}\n\n`),
    end: () => void res.end(),
    onClose: (cb) => void res.once("close", cb),
    keepalive: () => void res.write(": keepalive\n\n"),
  };
}

/** The open listen subscriptions of one front door. */
export class ListenStreams {
  private readonly open = new Set<(graceful: boolean) => void>();

  constructor(
    private readonly warden: Warden,
    private readonly log: LogFn,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /**
   * Serves one validated `subscriptions/listen` request on `sink` (an SSE response on HTTP, the
   * shared channel on stdio). Returns the teardown (false: no closing result, e.g. cancelled).
   */
  serve(
    message: JsonRpcRequest,
    filter: SubscriptionFilter,
    subject: Subject,
    capabilities: Record<string, unknown>,
    sink: ListenSink,
  ): (graceful: boolean) => void {
    const id: Id = message.id;
    const honored = honoredSubset(filter);
    const uris = new Set(honored.resourceSubscriptions ?? []);
    let closed = false;
    const write = (msg: JsonRpcMessage) => {
      if (!closed) sink.write(msg);
    };
    const stamp = (method: string, params: Record<string, unknown> | undefined) =>
      write({
        jsonrpc: "2.0",
        method,
        params: {
          ...params,
          _meta: { ...(params?._meta as Record<string, unknown> | undefined), [META_SUBSCRIPTION_ID]: id },
        },
      });
    stamp("notifications/subscriptions/acknowledged", { notifications: honored });

    const session = this.warden.openSession("http", subject, (msg) => {
      if (!("method" in msg) || ("id" in msg && msg.id !== undefined)) return; // answers to warden's own subscribes
      const flag = FLAG_BY_METHOD[msg.method];
      if (
        flag
          ? honored[flag] === true
          : msg.method === "notifications/resources/updated" && uris.has(String(msg.params?.uri))
      ) {
        stamp(msg.method, msg.params as Record<string, unknown> | undefined);
      }
    });
    session.capabilities = capabilities;
    const keepalive = sink.keepalive
      ? setInterval(() => {
          if (!closed) sink.keepalive?.();
        }, KEEPALIVE_MS)
      : undefined;
    keepalive?.unref();

    const teardown = (graceful: boolean) => {
      if (closed) return;
      if (graceful) {
        write({
          jsonrpc: "2.0",
          id,
          result: {
            resultType: "complete",
            _meta: { [META_SUBSCRIPTION_ID]: id, [META_SERVER_INFO]: WARDEN_INFO },
          },
        });
      }
      closed = true;
      clearInterval(keepalive);
      this.open.delete(teardown);
      void this.warden.closeSession(session);
      sink.end();
    };
    sink.onClose(() => teardown(false));
    if (Object.keys(honored).length === 0) {
      teardown(true);
      return teardown;
    }
    this.open.add(teardown);
    // Downstream servers only send resources/updated for URIs someone subscribed to.
    let n = 0;
    for (const uri of uris) {
      this.warden.handle(session, {
        jsonrpc: "2.0",
        id: `listen-subscribe-${++n}`,
        method: "resources/subscribe",
        params: { uri },
      });
    }
    this.log("debug", `subscriptions/listen ${String(id)} open: ${JSON.stringify(honored)}`);
    return teardown;
  }

  /** Ends every stream with the graceful empty result (shutdown). */
  closeAll(): void {
    for (const teardown of [...this.open]) teardown(true);
  }
}
