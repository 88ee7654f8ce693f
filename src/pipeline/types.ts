// The contract between the transports, the pipeline and the governance stages.
// Extend compatibly (new optional fields); never rename or repurpose an existing field:
// several areas (proxy core, policy, scan, auth, approval, sandbox) code against it.

/** Who is calling. Every call has a subject: stdio callers get the configured local user. */
export interface Subject {
  /** Stable user/agent id ("local" for the default stdio user). */
  user: string;
  tenant: string;
  team?: string;
  roles: string[];
  scopes: string[];
  authMethod: "stdio" | "api_key" | "jwt" | "anonymous";
  /** API key id or JWT `jti`/`sub`, for audit. Never a secret. */
  credentialId?: string;
  /** Extra claims mapped by configuration. */
  claims?: Record<string, unknown>;
}

export type RiskLevel = "low" | "medium" | "high" | "critical";

/** Per-tool metadata from the active environment's tool registry. */
export interface ToolMeta {
  risk: RiskLevel;
  labels: string[];
  requiresApproval: boolean;
  /** Name of a sandbox tool definition when the tool runs in WASI rather than downstream. */
  sandbox?: string;
  [extra: string]: unknown;
}

/** A scanner finding (filled by src/scan). `location` is a JSON pointer into the scanned document. */
export interface Finding {
  detector: "injection" | "secrets" | "pii" | "tool_poisoning" | (string & {});
  kind: string;
  score: number;
  location: string;
  direction: "in" | "out" | "tool_definition";
  evidence?: string;
}

export interface Obligation {
  type: string;
  [param: string]: unknown;
}

/** What policy decided for a call. */
export interface Decision {
  allow: boolean;
  reasons: string[];
  requireApproval: boolean;
  obligations: Obligation[];
  auditTags: string[];
  /** "enforce" | "dry-run" | "off": the mode that applied to this call. */
  effectiveMode?: string;
  policyVersion?: string;
}

/** Requests a stage may send back to the client that caused the call. */
export interface ClientChannel {
  /** Capabilities the client declared at initialize. */
  readonly capabilities: Record<string, unknown>;
  readonly clientInfo?: { name: string; version: string };
  readonly protocolVersion?: string;
  /** Sends elicitation/create to this client session; rejects if unsupported. */
  elicit?(params: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>>;
}

/** Per-session facts that outlive one call (budgets, tools called, flags set by stages). */
export interface SessionState {
  readonly id: string;
  callCount: number;
  toolsCalled: string[];
  flags: Record<string, unknown>;
}

/** The shared, typed context of one request as it travels through the stages. */
export interface CallContext {
  readonly requestId: string | number;
  readonly transport: "stdio" | "http" | "sse";
  readonly environment: string;
  /** JSON-RPC method: tools/call, tools/list, resources/read, prompts/get, ... */
  readonly method: string;
  subject: Subject;
  session: SessionState;
  client: ClientChannel;
  /** Downstream server the request is routed to (after namespacing is undone). */
  server?: string;
  /** Downstream (un-namespaced) tool or prompt name. */
  tool?: string;
  /** Name the client sees (namespaced). */
  exposedName?: string;
  toolMeta?: ToolMeta;
  uri?: string;
  /** Request params as sent by the client; stages may rewrite `arguments` (e.g. redaction). */
  params: Record<string, unknown>;
  /** Result from downstream once executed; stages may rewrite it (redaction, output caps). */
  result?: unknown;
  findings: Finding[];
  decision?: Decision;
  /**
   * Set by the pipeline runner when a stage refused or execution failed; after hooks still run
   * (in reverse order) so audit and metrics see every outcome. A throwing after hook replaces it.
   */
  error?: { code: number; message: string; stage?: string; data?: unknown };
  /** Free-form facts a stage records for later stages and the audit record. */
  annotations: Record<string, unknown>;
  /** process.hrtime.bigint() when the request entered the pipeline. */
  readonly startedAt: bigint;
  readonly signal: AbortSignal;
}

/** A tool as listed to the client (MCP Tool shape, namespaced name). */
export interface ToolDescriptor {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface ListContext {
  readonly environment: string;
  subject: Subject;
  session: SessionState;
  server: string;
}

/**
 * What a stage's before/after hooks read. The proxy uses it to skip work nobody needs: when no
 * stage reads the params of a tools/call, the stdio front door forwards the request as bytes
 * (only the id, tool name and progress token rewritten), never parsing the arguments.
 */
export interface StageReads {
  /** Methods whose calls the hooks act on; the pipeline does not call them for others. Absent: every method. */
  readonly methods?: readonly string[];
  /**
   * Whether the hooks read `ctx.params` (arguments, `_meta`, ...) on every call. False: they
   * normally use only the facts the router fills in (method, server, tool, exposedName, uri,
   * subject, session, decision, ...). A hook that does read `ctx.params` after all (e.g. only when
   * approval is required) still gets them: a request kept as bytes is parsed on that first read,
   * and what is forwarded is then the parsed (possibly rewritten) params. Default true.
   */
  readonly params?: boolean;
  /**
   * What the after hooks read of `ctx.result`. "isError": only its top-level `isError` flag;
   * the downstream answer may then stay bytes (a RawResult from src/upstream/ndjson.ts, whose
   * `isError` getter reads the flag from the bytes) and is forwarded unparsed. false: nothing.
   * Default true (the parsed result, which the hooks may rewrite).
   */
  readonly result?: boolean | "isError";
}

/**
 * A governance stage. The pipeline runs `before` hooks in order, executes the call,
 * then runs `after` hooks in reverse order. A stage refuses by throwing StageRefusal.
 */
export interface Stage {
  readonly name: string;
  /** What the hooks read; absent means everything, for every method (the safe default). */
  readonly reads?: StageReads;
  before?(ctx: CallContext): void | Promise<void>;
  after?(ctx: CallContext): void | Promise<void>;
  /** Filters/rewrites one server's tool list before the client sees it (registry, rug-pull pins). */
  filterTools?(ctx: ListContext, tools: ToolDescriptor[]): ToolDescriptor[] | Promise<ToolDescriptor[]>;
}

/** A refusal with the stage that made it; becomes a clear MCP error for the client. */
export class StageRefusal extends Error {
  constructor(
    readonly stage: string,
    message: string,
    /** JSON-RPC error code; -32001 (governance refusal) unless a stage needs another. */
    readonly code: number = -32001,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "StageRefusal";
  }
}

/** An in-process tool provider (e.g. WASI code tools) that the upstream layer mounts like a server. */
export interface LocalToolProvider {
  readonly name: string;
  listTools(): ToolDescriptor[] | Promise<ToolDescriptor[]>;
  callTool(
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<{ content: Array<Record<string, unknown>>; isError?: boolean; structuredContent?: unknown }>;
  close?(): Promise<void>;
}
