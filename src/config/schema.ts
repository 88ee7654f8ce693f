// The zod schema of warden.yaml. Core sections (servers, http, identity, namespace, registry)
// are defined here; other areas register theirs with registerConfigSection so one file validates all.
import { z } from "zod";

/** Server names are path-safe and never contain the namespace separator (checked in load.ts). */
const serverName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, "a server name of letters, digits and '-'");

const restart = z
  .strictObject({
    initialDelayMs: z.number().int().positive().default(500),
    maxDelayMs: z.number().int().positive().default(30_000),
    /** Consecutive failed restarts before the server is marked failed (0 = never give up). */
    maxAttempts: z.number().int().nonnegative().default(0),
  })
  .default({ initialDelayMs: 500, maxDelayMs: 30_000, maxAttempts: 0 });

const common = {
  /** Per-call timeout for requests routed to this server. */
  timeoutMs: z.number().int().positive().default(60_000),
  /** How long connecting and the initialize handshake may take. */
  startupTimeoutMs: z.number().int().positive().default(30_000),
  /** shared: one downstream connection for all client sessions; per-session: one per client session. */
  isolation: z.enum(["shared", "per-session"]).default("shared"),
  restart,
  description: z.string().optional(),
};

/** Default cap on one downstream answer: far above real results, far below what exhausts memory. */
export const DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024;
/**
 * The largest single message (answer, notification or request) warden reads from a server over
 * its wire (a stdio line, an HTTP JSON body or SSE event); a larger one fails its call instead of
 * being buffered. Above 512 MiB a message could not be decoded into a string anyway.
 */
const maxAnswerBytes = z
  .number()
  .int()
  .min(1024, "at least 1024 bytes")
  .max(512 * 1024 * 1024, "at most 536870912 bytes (512 MiB)")
  .default(DEFAULT_MAX_ANSWER_BYTES);

/**
 * Microseconds warden keeps its event loop turning instead of sleeping: per request in flight to
 * a server (servers.<name>), or after answering a client (http). Lower latency, paid in CPU
 * (src/upstream/busy-poll.ts). 0 turns it off; `auto` (the default) is 1000 µs, only for a client
 * calling in a loop and only where the process may use two CPUs or more.
 */
const busyPollMicros = z
  .union(
    [
      z.literal("auto"),
      z
        .number()
        .int()
        .min(0, "0 (off) or more microseconds")
        .max(100_000, "at most 100000 microseconds (0.1 s)"),
    ],
    { error: '"auto" or a whole number of microseconds, 0 (off) to 100000' },
  )
  .default("auto");

const stdioServer = z.strictObject({
  command: z.string().min(1, "a command to run"),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  /** Directories created before the server starts (e.g. a sandbox folder for server-filesystem). */
  createDirs: z.array(z.string()).default([]),
  maxAnswerBytes,
  busyPollMicros,
  ...common,
});

const remoteServer = z.strictObject({
  url: z.url({ message: "an http(s) URL" }),
  /** streamable-http (default) or the legacy HTTP+SSE transport (protocol 2024-11-05). */
  transport: z.enum(["streamable-http", "sse"]).default("streamable-http"),
  headers: z.record(z.string(), z.string()).default({}),
  maxAnswerBytes,
  busyPollMicros,
  ...common,
});

const builtinServer = z.strictObject({
  /** Name of an in-process LocalToolProvider passed to createWarden({ providers }). */
  builtin: z.string().min(1),
  ...common,
});

export const serverSchema = z.union([stdioServer, remoteServer, builtinServer]);

/** Picks the server kind by its distinguishing key so errors are about that kind's fields. */
export function serverSchemaFor(value: unknown): z.ZodType | undefined {
  if (value === null || typeof value !== "object") return undefined;
  if ("command" in value) return stdioServer;
  if ("url" in value) return remoteServer;
  if ("builtin" in value) return builtinServer;
  return undefined;
}

export type StdioServerConfig = z.infer<typeof stdioServer>;
export type RemoteServerConfig = z.infer<typeof remoteServer>;
export type BuiltinServerConfig = z.infer<typeof builtinServer>;
export type ServerConfig = z.infer<typeof serverSchema>;

export const httpSchema = z
  .strictObject({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8787),
    /** Largest accepted request body in bytes (default 4 MiB; a 256 KB tool argument fits easily). */
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
    /** Extra Host header values accepted besides the bound host:port, localhost and 127.0.0.1. */
    allowedHosts: z.array(z.string()).default([]),
    /** Browser origins accepted; requests without Origin (non-browser clients) are always accepted. */
    allowedOrigins: z.array(z.string()).default([]),
    /** Answer POSTs with a JSON body instead of an SSE stream. */
    jsonResponse: z.boolean().default(false),
    /**
     * After answering a POST in a session, keep the event loop turning for up to this many
     * microseconds for the client's next request instead of sleeping (src/upstream/busy-poll.ts):
     * lower latency for clients calling in sequence, paid in CPU. 0 turns it off.
     */
    busyPollMicros,
    /** Events kept per session for resuming SSE streams with Last-Event-ID. */
    resumableEvents: z.number().int().nonnegative().default(1000),
    /** Idle Streamable HTTP sessions are closed after this long. */
    sessionIdleMs: z
      .number()
      .int()
      .positive()
      .default(30 * 60_000),
  })
  .prefault({});

export const identitySchema = z
  .strictObject({
    stdio: z
      .strictObject({
        user: z.string().min(1).default("local"),
        tenant: z.string().min(1).default("default"),
        roles: z.array(z.string()).default([]),
        scopes: z.array(z.string()).default([]),
      })
      .prefault({}),
  })
  .prefault({});

export const coreSections = {
  /** Default environment when neither --env nor WARDEN_ENV is given. */
  environment: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "an environment name")
    .default("dev"),
  /** Each entry is validated by serverSchemaFor() in load.ts (kind chosen by command/url/builtin). */
  servers: z.record(serverName, z.unknown()).default({}),
  namespace: z
    .strictObject({
      /** Between server name and tool/prompt name: `<server><separator><tool>`. */
      separator: z.string().min(1).max(4).default("__"),
    })
    .prefault({}),
  registry: z
    .strictObject({
      /** Folder with <env>.yaml tool registries, relative to the config file. */
      dir: z.string().default("tool-registry"),
    })
    .prefault({}),
  http: httpSchema,
  identity: identitySchema,
} as const;

// Sections owned by other areas (policy, audit, metrics, auth, approval, scan, sandbox, limits).
const sectionSchemas = new Map<string, z.ZodType>();

/**
 * Registers the schema of a top-level warden.yaml section owned by another area.
 * Registered sections are validated with the rest of the file; unregistered unknown
 * sections are kept as-is and reported as "unvalidated" by `warden config check`.
 */
export function registerConfigSection(name: string, schema: z.ZodType): void {
  if (name in coreSections) throw new Error(`config section '${name}' belongs to the proxy core`);
  sectionSchemas.set(name, schema);
}

export function registeredSections(): string[] {
  return [...sectionSchemas.keys()];
}

export function buildRootSchema() {
  return z.looseObject(coreSections);
}

/**
 * Registered sections present in the document, with their schemas. An absent section stays
 * absent (undefined) even if its schema has defaults, so owners can tell "not configured" apart.
 */
export function presentSections(doc: Record<string, unknown>): Array<[string, z.ZodType]> {
  return [...sectionSchemas].filter(([name]) => doc[name] !== undefined);
}

export type CoreConfig = {
  environment: string;
  servers: Record<string, ServerConfig>;
  namespace: { separator: string };
  registry: { dir: string };
  http: z.infer<typeof httpSchema>;
  identity: z.infer<typeof identitySchema>;
};

/** The validated config: core sections typed, other sections as validated/kept by their owners. */
export type WardenConfig = CoreConfig & { [section: string]: unknown };
