// createWarden: builds the proxy (config → registry → upstream servers → pipeline → router)
// and exposes the front doors. Colleagues inject their governance stages here.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { type LoadedConfig, loadConfigFile, parseConfig, selectEnvironment } from "../config/load.js";
import type { WardenConfig } from "../config/schema.js";
import { Pipeline } from "../pipeline/runner.js";
import type { LocalToolProvider, Stage, Subject } from "../pipeline/types.js";
import { loadRegistry, type ToolRegistry } from "../registry/registry.js";
import { registryStage } from "../registry/stage.js";
import type { JsonRpcMessage } from "../upstream/jsonrpc.js";
import { type ServerStatus, UpstreamServer } from "../upstream/server.js";
import { type HttpFrontDoor, type HttpFrontDoorOptions, startHttpFrontDoor } from "./http.js";
import { createLogger, type LogFn } from "./logger.js";
import { Router } from "./router.js";
import { ClientSession, type FrontTransport, type SendFn } from "./session.js";
import { type StdioFrontDoor, serveStdio } from "./stdio.js";

export interface CreateWardenOptions {
  /** A path to warden.yaml, an already loaded config, or a plain config object (validated). */
  config: string | LoadedConfig | Record<string, unknown>;
  /** Environment (default: WARDEN_ENV, then the config's `environment`, then "dev"). */
  env?: string;
  /** Governance stages, run in this order after the built-in registry stage. */
  stages?: Stage[];
  /** In-process tool providers, mounted by servers declared as `builtin: <provider name>`. */
  providers?: LocalToolProvider[];
  /** Replaces the registry loaded from `<registry.dir>/<env>.yaml` (tests). */
  registry?: ToolRegistry;
  log?: LogFn;
}

export interface Warden {
  readonly environment: string;
  readonly config: WardenConfig;
  readonly loaded: LoadedConfig;
  readonly registry: ToolRegistry;
  readonly pipeline: Pipeline;
  readonly router: Router;
  /** Opens a client session on any transport; the front doors use this. */
  openSession(transport: FrontTransport, subject: Subject, send: SendFn, id?: string): ClientSession;
  /** Feeds one client message into a session. */
  handle(session: ClientSession, message: JsonRpcMessage): void;
  closeSession(session: ClientSession): Promise<void>;
  /** Serves MCP over stdio (process.stdin/stdout by default). */
  serveStdio(io?: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream }): StdioFrontDoor;
  /** Serves Streamable HTTP at /mcp and legacy SSE at /sse + /messages. */
  listenHttp(opts?: HttpFrontDoorOptions): Promise<HttpFrontDoor>;
  /** Each downstream server's state. */
  status(): ServerStatus[];
  /** The subject of stdio sessions (from `identity.stdio`). */
  stdioSubject(): Subject;
  close(): Promise<void>;
}

export async function createWarden(opts: CreateWardenOptions): Promise<Warden> {
  const log = opts.log ?? createLogger();
  const loaded =
    typeof opts.config === "string"
      ? loadConfigFile(opts.config)
      : "masked" in opts.config && "baseDir" in opts.config
        ? (opts.config as LoadedConfig)
        : parseConfig(opts.config);
  const config = loaded.config;
  const environment = selectEnvironment(config, opts.env);
  const registry =
    opts.registry ?? loadRegistry(path.resolve(loaded.baseDir, config.registry.dir), environment);

  const unknown = registry.servers().filter((s) => !(s in config.servers));
  if (unknown.length) {
    throw new Error(
      `tool registry ${registry.source} lists server(s) ${unknown.map((s) => `'${s}'`).join(", ")} that warden.yaml does not declare`,
    );
  }
  const providers = new Map((opts.providers ?? []).map((p) => [p.name, p]));
  const pipeline = new Pipeline([
    registryStage(registry, config.namespace.separator),
    ...(opts.stages ?? []),
  ]);

  // Only servers the environment exposes are started: the others are invisible.
  let router!: Router;
  const servers = registry.servers().map((name) => {
    const cfg = config.servers[name];
    return new UpstreamServer(name, cfg, {
      handlers: (server, bound) => router.handlersFor(server, bound),
      log,
      provider: "builtin" in cfg ? providers.get(cfg.builtin) : undefined,
    });
  });
  router = new Router({ environment, separator: config.namespace.separator, servers, pipeline, log });
  await Promise.all(servers.map((s) => s.start()));
  log(
    "info",
    `warden ready: environment '${environment}', servers ${servers.map((s) => `${s.name}=${s.state}`).join(", ") || "(none)"}`,
  );

  const doors = new Set<{ close(): Promise<void> }>();
  const stdio = config.identity.stdio;
  const warden: Warden = {
    environment,
    config,
    loaded,
    registry,
    pipeline,
    router,
    openSession(transport, subject, send, id) {
      const session = new ClientSession(id ?? randomUUID(), transport, subject, send);
      router.addSession(session);
      return session;
    },
    handle(session, message) {
      router.handle(session, message);
    },
    closeSession(session) {
      return router.removeSession(session);
    },
    serveStdio(io) {
      const door = serveStdio(warden, io?.input ?? process.stdin, io?.output ?? process.stdout, log);
      doors.add(door);
      return door;
    },
    async listenHttp(httpOpts) {
      const door = await startHttpFrontDoor(warden, { ...httpOpts }, log);
      doors.add(door);
      return door;
    },
    status: () => servers.map((s) => s.status()),
    stdioSubject: () => ({
      user: stdio.user,
      tenant: stdio.tenant,
      roles: [...stdio.roles],
      scopes: [...stdio.scopes],
      authMethod: "stdio",
    }),
    async close() {
      await Promise.allSettled([...doors].map((d) => d.close()));
      for (const s of [...router.sessions.values()]) await router.removeSession(s);
      await Promise.allSettled(servers.map((s) => s.close()));
    },
  };
  return warden;
}
