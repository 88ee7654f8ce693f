// Wire rules of the 2026-07-28 revision that warden applies on its stateless front door:
// the per-request routing headers, the methods the revision defines, how results are
// encoded (resultType, cache fields, serverInfo) and which client capability each embedded
// input request needs. Pure functions; the exact shapes follow @modelcontextprotocol/server 2.x.
import type { JsonRpcRequest } from "../upstream/jsonrpc.js";
import { WARDEN_INFO } from "./router.js";

export const STATELESS_VERSION = "2026-07-28";
export const SUPPORTED_MODERN_VERSIONS = [STATELESS_VERSION];
export const META_VERSION = "io.modelcontextprotocol/protocolVersion";
export const META_CAPS = "io.modelcontextprotocol/clientCapabilities";
export const META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo";
export const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";
export const META_LOG_LEVEL = "io.modelcontextprotocol/logLevel";
export const META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";

/** Error codes the revision adds (SEP-2243 header mismatch, capability and version errors). */
export const ModernErrorCodes = {
  HeaderMismatch: -32020,
  MissingRequiredClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

/** The request methods of the 2026-07-28 registry; anything else is -32601 on this revision. */
export const MODERN_REQUEST_METHODS = new Set([
  "tools/call",
  "tools/list",
  "prompts/get",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "completion/complete",
  "server/discover",
  "subscriptions/listen",
]);

/** Methods whose result may be `input_required` (multi-round-trip requests). */
export const INPUT_REQUIRED_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);

/** Results that must carry `ttlMs` and `cacheScope` (SEP-2549 CacheableResult). */
const CACHEABLE_METHODS = new Set([
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "server/discover",
]);

/** The body field `Mcp-Name` mirrors, per method (SEP-2243 "Required For"). */
const NAME_SOURCE: Record<string, "name" | "uri"> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

export interface HeaderProblem {
  message: string;
  header: string;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === "string" ? v.replace(/^[ \t]+|[ \t]+$/g, "") : undefined;
}

/** Decodes an `=?base64?...?=` header value (used for names that are not plain ASCII). */
export function decodeHeaderValue(value: string): string | undefined {
  if (!value.startsWith("=?base64?") || !value.endsWith("?=")) return value;
  const b64 = value.slice(9, -2);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) return undefined;
  const bytes = Buffer.from(b64, "base64");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The standard-header rung for a modern request (the classifier already compared the version
 * and Mcp-Method headers with the body when present): both must be present, and `Mcp-Name`
 * must be present and equal to params.name / params.uri where the method has one.
 */
export function standardHeaderProblem(
  headers: Record<string, string | string[] | undefined>,
  req: JsonRpcRequest,
): HeaderProblem | undefined {
  if (header(headers, "mcp-protocol-version") === undefined) {
    return {
      header: "(missing)",
      message: `the body envelope names protocol version ${STATELESS_VERSION} but the required MCP-Protocol-Version header is absent`,
    };
  }
  const method = header(headers, "mcp-method");
  if (method === undefined) {
    return {
      header: "(missing)",
      message: `the body names method ${req.method} but the required Mcp-Method header is absent`,
    };
  }
  if (method !== req.method) {
    return {
      header: method,
      message: `the body names method ${req.method} but the Mcp-Method header names ${method}`,
    };
  }
  const field = NAME_SOURCE[req.method];
  if (!field) return undefined;
  const bodyValue = req.params?.[field];
  if (typeof bodyValue !== "string") return undefined; // params validation answers that
  const name = header(headers, "mcp-name");
  if (name === undefined) {
    return {
      header: "(missing)",
      message: `the body carries params.${field}="${bodyValue}" but the required Mcp-Name header is absent`,
    };
  }
  const decoded = decodeHeaderValue(name);
  if (decoded === undefined)
    return { header: name, message: "the Mcp-Name header carries an invalid Base64 sentinel value" };
  if (decoded !== bodyValue) {
    return {
      header: name,
      message: `the body carries params.${field}="${bodyValue}" but the Mcp-Name header names "${decoded}"`,
    };
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Encodes a result for a 2026-07-28 client: `resultType` (default "complete"), `ttlMs` and
 * `cacheScope` on cacheable results (0 / "private": warden's answers depend on the caller's
 * registry and policy view, so they must not be shared across principals), no 2025-only
 * vocabulary (tool `execution`, `tasks` capability), and warden's identity in `_meta`.
 */
export function encodeModernResult(method: string, result: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...result };
  if (out.resultType === undefined) out.resultType = "complete";
  if (out.resultType === "complete" && CACHEABLE_METHODS.has(method)) {
    if (!(Number.isInteger(out.ttlMs) && (out.ttlMs as number) >= 0)) out.ttlMs = 0;
    if (out.cacheScope !== "public" && out.cacheScope !== "private") out.cacheScope = "private";
  }
  if (method === "tools/list" && Array.isArray(out.tools)) {
    out.tools = out.tools.map((t) => {
      if (!isObject(t) || !("execution" in t)) return t;
      const { execution: _dropped, ...rest } = t;
      return rest;
    });
  }
  if (isObject(out.capabilities) && "tasks" in out.capabilities) {
    const { tasks: _dropped, ...rest } = out.capabilities;
    out.capabilities = rest;
  }
  const meta = out._meta;
  if (meta === undefined) out._meta = { [META_SERVER_INFO]: WARDEN_INFO };
  else if (isObject(meta) && meta[META_SERVER_INFO] === undefined)
    out._meta = { ...meta, [META_SERVER_INFO]: WARDEN_INFO };
  return out;
}

/** The 2026-07-28 revision answers a resource miss with -32602, never the older -32002. */
export function encodeModernErrorCode(code: number): number {
  return code === -32002 ? -32602 : code;
}

/**
 * The client capabilities an embedded input request needs (mode-aware: URL elicitation needs
 * `elicitation.url`, form elicitation `elicitation.form` or a bare `elicitation: {}`, sampling
 * with tools `sampling.tools`), or undefined when the client declared them all.
 */
export function missingCapabilityFor(
  method: string,
  params: Record<string, unknown> | undefined,
  declared: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const elicitation = declared.elicitation;
  const sampling = declared.sampling;
  switch (method) {
    case "elicitation/create": {
      if (params?.mode === "url") {
        return isObject(elicitation) && elicitation.url !== undefined
          ? undefined
          : { elicitation: { url: {} } };
      }
      if (!isObject(elicitation)) return { elicitation: { form: {} } };
      const bare = elicitation.form === undefined && elicitation.url === undefined;
      return bare || elicitation.form !== undefined ? undefined : { elicitation: { form: {} } };
    }
    case "sampling/createMessage": {
      const needsTools = params?.tools !== undefined || params?.toolChoice !== undefined;
      if (!isObject(sampling)) return needsTools ? { sampling: { tools: {} } } : { sampling: {} };
      return needsTools && sampling.tools === undefined ? { sampling: { tools: {} } } : undefined;
    }
    case "roots/list":
      return declared.roots !== undefined ? undefined : { roots: {} };
    default:
      return {}; // not an input request this revision defines
  }
}

/** Removes the multi-round-trip retry fields before a request goes downstream (2025 servers). */
export function withoutRetryFields(params: Record<string, unknown>): Record<string, unknown> {
  if (!("inputResponses" in params) && !("requestState" in params)) return params;
  const { inputResponses: _r, requestState: _s, ...rest } = params;
  return rest;
}
