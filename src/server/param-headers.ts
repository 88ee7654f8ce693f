// SEP-2243 custom-parameter headers of the 2026-07-28 revision over Streamable HTTP: a tool's
// inputSchema may mark primitive properties with `x-mcp-header: <Name>`, and a client then mirrors
// each such argument of a tools/call into an `Mcp-Param-<Name>` header so intermediaries can route
// on it without reading the body. A server must check that the headers agree with the body.
// Pure functions; the rules follow @modelcontextprotocol/core's mcpParamHeaders (client 2.x builds
// the headers, server 2.x validates them), which the packages do not export.
import { RpcError } from "../upstream/jsonrpc.js";
import type { ClientSession } from "./session.js";

export const MCP_PARAM_HEADER_PREFIX = "Mcp-Param-";
const X_MCP_HEADER = "x-mcp-header";
/** RFC 9110 token: the only header names a declaration may give. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** `number` is not allowed by the spec, but a server still checks such declarations (as the SDK does). */
const CHECKED_TYPES = new Set(["string", "integer", "boolean", "number"]);
/** Subschema keywords off the `properties` chain: a declaration under one makes the tool invalid. */
const OFF_CHAIN = [
  "items",
  "prefixItems",
  "contains",
  "additionalProperties",
  "unevaluatedProperties",
  "unevaluatedItems",
  "propertyNames",
  "patternProperties",
  "dependentSchemas",
  "oneOf",
  "anyOf",
  "allOf",
  "not",
  "if",
  "then",
  "else",
  "$defs",
  "definitions",
];
const NAME_TO_SCHEMA = new Set(["patternProperties", "dependentSchemas", "$defs", "definitions"]);

/** One mirrored argument: where it sits in `arguments` and the header it travels in. */
export interface ParamDeclaration {
  readonly path: readonly string[];
  readonly headerName: string;
  readonly type: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The declarations a server checks for a tool: every `x-mcp-header` on a property reachable
 * through `properties` chains, when the schema is otherwise valid (a schema with a misplaced,
 * malformed or duplicate declaration is invalid: conforming clients drop such a tool and send no
 * headers for it, so there is nothing to check). `number`-typed declarations are invalid too but
 * still checked, as the SDK server does.
 */
export function paramDeclarations(inputSchema: unknown): ParamDeclaration[] {
  const found: ParamDeclaration[] = [];
  const seen = new Set<string>();
  const visit = (node: unknown, path: string[], onChain: boolean): boolean => {
    if (!isObject(node)) return true;
    if (X_MCP_HEADER in node) {
      const name = node[X_MCP_HEADER];
      const type = node.type;
      if (!onChain || path.length === 0) return false;
      if (typeof name !== "string" || !TOKEN.test(name)) return false;
      if (typeof type !== "string" || !CHECKED_TYPES.has(type)) return false;
      if (seen.has(name.toLowerCase())) return false;
      seen.add(name.toLowerCase());
      found.push({ path, headerName: name, type });
    }
    if (isObject(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) {
        if (!visit(child, [...path, key], onChain)) return false;
      }
    }
    for (const keyword of OFF_CHAIN) {
      const sub = node[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub)
        ? sub
        : NAME_TO_SCHEMA.has(keyword) && isObject(sub)
          ? Object.values(sub)
          : [sub];
      for (const b of branches) if (!visit(b, [...path, `<${keyword}>`], false)) return false;
    }
    return true;
  };
  return visit(inputSchema, [], true) ? found : [];
}

/** The header text of an argument value, or undefined when no header is sent for it. */
function headerText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))
      return undefined;
    return String(value);
  }
  return undefined;
}

const SENTINEL_OPEN = "=?base64?";
const SENTINEL_CLOSE = "?=";
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** Whether a value cannot travel as a plain header value (non-ASCII, edge whitespace, empty, sentinel-shaped). */
function needsBase64(s: string): boolean {
  if (s.length === 0 || s !== s.trim()) return true;
  if (s.startsWith(SENTINEL_OPEN) && s.endsWith(SENTINEL_CLOSE)) return true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 9 && (c < 0x20 || c > 0x7e)) return true;
  }
  return false;
}

/** A header value for `s`: as is when it is plain visible ASCII, else `=?base64?<utf-8 bytes>?=`. */
export function encodeParamValue(s: string): string {
  return needsBase64(s) ? `${SENTINEL_OPEN}${Buffer.from(s, "utf8").toString("base64")}${SENTINEL_CLOSE}` : s;
}

/** The value a header carries (the sentinel decoded), or undefined when the sentinel is malformed. */
export function decodeParamValue(value: string): string | undefined {
  if (!value.startsWith(SENTINEL_OPEN) || !value.endsWith(SENTINEL_CLOSE)) return value;
  const b64 = value.slice(SENTINEL_OPEN.length, -SENTINEL_CLOSE.length);
  if (!CANONICAL_BASE64.test(b64)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(b64, "base64"));
  } catch {
    return undefined;
  }
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** The `Mcp-Param-*` headers a client sends for one call (absent and null arguments send none). */
export function buildParamHeaders(decls: readonly ParamDeclaration[], args: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of decls) {
    const text = headerText(valueAt(args, d.path));
    if (text !== undefined) out[`${MCP_PARAM_HEADER_PREFIX}${d.headerName}`] = encodeParamValue(text);
  }
  return out;
}

export interface ParamHeaderProblem {
  /** The header concerned, e.g. `Mcp-Param-Region`. */
  header: string;
  message: string;
}

type Headers = Record<string, string | string[] | undefined>;

function headerValue(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  const joined = Array.isArray(v) ? v.join(", ") : v;
  return joined?.replace(/^[ \t]+|[ \t]+$/g, "");
}

/**
 * The first disagreement between a call's `Mcp-Param-*` headers (Node's lower-cased request
 * headers) and its arguments: a header must be present and equal (decoded) for every declared
 * argument that has a primitive value; integer/number declarations compare numerically (`42.0`
 * equals `42`). A header for an absent or null argument is ignored.
 */
export function paramHeaderProblem(
  decls: readonly ParamDeclaration[],
  args: unknown,
  headers: Headers,
): ParamHeaderProblem | undefined {
  for (const d of decls) {
    const header = `${MCP_PARAM_HEADER_PREFIX}${d.headerName}`;
    const bodyValue = valueAt(args, d.path);
    const bodyText = headerText(bodyValue);
    if (bodyText === undefined) continue;
    const where = `${d.path.join(".")}=${JSON.stringify(bodyValue)}`;
    const raw = headerValue(headers, header);
    if (raw === undefined)
      return { header, message: `the body carries ${where} but the ${header} header is absent` };
    const decoded = decodeParamValue(raw);
    if (decoded === undefined)
      return { header, message: `the ${header} header carries an invalid Base64 sentinel value` };
    const numeric = (d.type === "integer" || d.type === "number") && typeof bodyValue === "number";
    const same = numeric && DECIMAL.test(decoded) ? Number(decoded) === bodyValue : decoded === bodyText;
    if (!same) {
      return {
        header,
        message: `the ${header} header decodes to ${JSON.stringify(decoded)} but the body carries ${where}`,
      };
    }
  }
  return undefined;
}

/**
 * The HTTP request headers of sessions whose tools/call must be checked (the stateless
 * 2026-07-28 HTTP door's per-request sessions); other sessions (stdio, 2025 revisions) have none.
 */
const requestHeaders = new WeakMap<ClientSession, Headers>();

export function checkParamHeadersOn(session: ClientSession, headers: Headers): void {
  requestHeaders.set(session, headers);
}

export function paramHeadersOf(session: ClientSession): Headers | undefined {
  return requestHeaders.get(session);
}

/** The -32020 (HeaderMismatch) error for a disagreement; the stateless door answers it with HTTP 400. */
export function paramHeaderError(problem: ParamHeaderProblem): RpcError {
  // -32020 is ModernErrorCodes.HeaderMismatch (revision-2026.ts imports the router, which imports this).
  return new RpcError(-32020, `Bad Request: the request headers and body disagree: ${problem.message}`, {
    mismatch: { header: problem.header, body: problem.message },
  });
}
