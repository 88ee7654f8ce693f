// 2026-07-28 clients on the stdio front door. As in the SDK's stdio entry, a connection's era is
// decided by its opening message: a request with a valid modern `_meta` envelope makes the whole
// connection modern (anything else keeps it on the initialize handshake). On a modern connection
// every request is served by StatelessCore like an HTTP one, answers and notifications share the
// one channel, and `notifications/cancelled` is how the client cancels a request or ends a
// subscriptions/listen subscription.
import type { Subject } from "../pipeline/types.js";
import {
  ErrorCodes,
  type Id,
  type JsonRpcMessage,
  type JsonRpcRequest,
  parseMessageLine,
} from "../upstream/jsonrpc.js";
import type { ListenSink } from "./listen.js";
import type { LogFn } from "./logger.js";
import {
  META_CAPS,
  META_VERSION,
  MODERN_REQUEST_METHODS,
  ModernErrorCodes,
  SUPPORTED_MODERN_VERSIONS,
} from "./revision-2026.js";
import { StatelessCore } from "./stateless.js";
import type { Warden } from "./warden.js";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether a connection's opening message claims the 2026-07-28 era with a well-formed envelope. */
export function opensModernEra(msg: unknown): boolean {
  if (!isObject(msg) || typeof msg.method !== "string" || msg.id === undefined || msg.id === null)
    return false;
  const meta = isObject(msg.params) ? msg.params._meta : undefined;
  if (!isObject(meta)) return false;
  const version = meta[META_VERSION];
  return typeof version === "string" && version >= SUPPORTED_MODERN_VERSIONS[0] && isObject(meta[META_CAPS]);
}

export interface ModernStdio {
  /** One line from the client (already known to be on a modern connection). */
  handleLine(bytes: Buffer): void;
  handle(msg: JsonRpcMessage): void;
  close(): Promise<void>;
}

export function createModernStdio(
  warden: Warden,
  subject: Subject,
  write: (msg: JsonRpcMessage) => void,
  log: LogFn,
  /** Called as each request comes in (the door times its client's pace: src/upstream/busy-poll.ts). */
  onRequest: () => void = () => {},
): ModernStdio {
  const core = new StatelessCore(warden, log);
  /** Requests without an answer yet → what to run if the client cancels them. */
  const cancellable = new Map<Id, () => void>();

  const reply = (id: Id) => ({
    answer(_status: number, msg: JsonRpcMessage) {
      cancellable.delete(id);
      write(msg);
    },
    notify: write,
    onAbandon(cb: () => void) {
      cancellable.set(id, cb);
    },
    listenSink(): ListenSink {
      return {
        write,
        end: () => cancellable.delete(id),
        onClose: (cb) => void cancellable.set(id, cb),
      };
    },
  });

  function request(r: JsonRpcRequest): void {
    onRequest();
    if (MODERN_REQUEST_METHODS.has(r.method)) {
      const meta = r.params?._meta;
      const version = isObject(meta) ? meta[META_VERSION] : undefined;
      if (!isObject(meta) || typeof version !== "string" || !isObject(meta[META_CAPS])) {
        write({
          jsonrpc: "2.0",
          id: r.id,
          error: {
            code: ErrorCodes.InvalidParams,
            message: `Request is missing the required _meta envelope for protocol revision ${SUPPORTED_MODERN_VERSIONS[0]} (${META_VERSION}, ${META_CAPS})`,
          },
        });
        return;
      }
      if (!SUPPORTED_MODERN_VERSIONS.includes(version)) {
        write({
          jsonrpc: "2.0",
          id: r.id,
          error: {
            code: ModernErrorCodes.UnsupportedProtocolVersion,
            message: `Unsupported protocol version: ${version}`,
            data: { supported: SUPPORTED_MODERN_VERSIONS, requested: version },
          },
        });
        return;
      }
    }
    core.serve(r, subject, reply(r.id)).catch((err: Error) => {
      log("error", `2026-07-28 stdio request ${r.method} failed: ${err.stack ?? err.message}`);
      write({
        jsonrpc: "2.0",
        id: r.id,
        error: { code: ErrorCodes.InternalError, message: "Internal error" },
      });
    });
  }

  function handle(msg: JsonRpcMessage): void {
    if ("method" in msg) {
      if ("id" in msg && msg.id !== undefined && msg.id !== null) {
        request(msg as JsonRpcRequest);
        return;
      }
      if (msg.method === "notifications/cancelled") {
        const id = (msg.params as { requestId?: Id } | undefined)?.requestId;
        const cancel = id === undefined ? undefined : cancellable.get(id);
        if (cancel) {
          cancellable.delete(id as Id);
          cancel();
        }
      }
      return; // other notifications need no action; this revision sends no requests to answer
    }
  }

  return {
    handle,
    handleLine(bytes) {
      const { msg, reply } = parseMessageLine(bytes);
      if (reply) write(reply);
      else handle(msg);
    },
    close: () => core.close(),
  };
}
