// Minimal JSON-RPC 2.0 message shapes and helpers shared by both sides of the proxy.
// Messages are forwarded as plain objects: no per-message schema validation on the hot path.

export type Id = string | number;

export interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: Id;
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcResult {
  jsonrpc: "2.0";
  id: Id;
  result: Record<string, unknown>;
}
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}
export interface JsonRpcError {
  jsonrpc: "2.0";
  id: Id | null;
  error: JsonRpcErrorObject;
}
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResult | JsonRpcError;

export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Downstream unavailable, timed out or died mid-call. */
  Downstream: -32000,
  /** Refused by a governance stage (StageRefusal default). */
  Refused: -32001,
  RequestCancelled: -32800,
} as const;

/** An error answer from the other side (or produced by warden), carried as an exception. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
  toJSON(): JsonRpcErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return "method" in m && "id" in m && m.id !== undefined && m.id !== null;
}
export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return "method" in m && !("id" in m && m.id !== undefined && m.id !== null);
}
export function isResponse(m: JsonRpcMessage): m is JsonRpcResult | JsonRpcError {
  return !("method" in m) && ("result" in m || "error" in m);
}

/** Checks the envelope only (cheap); returns a reason when the message is not JSON-RPC 2.0. */
export function envelopeProblem(m: unknown): string | undefined {
  if (m === null || typeof m !== "object" || Array.isArray(m)) return "a JSON-RPC 2.0 object";
  const o = m as Record<string, unknown>;
  if (o.jsonrpc !== "2.0") return 'jsonrpc: "2.0"';
  if ("method" in o) {
    if (typeof o.method !== "string") return "method to be a string";
    if (
      o.params !== undefined &&
      (o.params === null || typeof o.params !== "object" || Array.isArray(o.params))
    )
      return "params to be an object";
    if ("id" in o && o.id !== undefined && typeof o.id !== "string" && typeof o.id !== "number")
      return "id to be a string or number";
    return undefined;
  }
  if ("result" in o || "error" in o) return undefined;
  return "a request, notification or response";
}

/**
 * Parses one newline-delimited message of a stdio front door: the message, or the JSON-RPC
 * error to answer it with (parse error, or an invalid envelope echoing a usable id).
 */
export function parseMessageLine(
  bytes: Buffer,
): { msg: JsonRpcMessage; reply?: undefined } | { msg?: undefined; reply: JsonRpcError } {
  let msg: unknown;
  try {
    msg = JSON.parse(bytes.toString("utf8"));
  } catch {
    return {
      reply: {
        jsonrpc: "2.0",
        id: null,
        error: { code: ErrorCodes.ParseError, message: "Parse error: invalid JSON" },
      },
    };
  }
  const problem = envelopeProblem(msg);
  if (!problem) return { msg: msg as JsonRpcMessage };
  const id = (msg as { id?: unknown })?.id;
  return {
    reply: {
      jsonrpc: "2.0",
      id: typeof id === "string" || typeof id === "number" ? id : null,
      error: { code: ErrorCodes.InvalidRequest, message: `Invalid Request: expected ${problem}` },
    },
  };
}
