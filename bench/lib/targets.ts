// The things the proxy benchmark calls: the fixture directly (stdio, Streamable HTTP), warden
// (stdio and HTTP front doors) and two peer bridges (supergateway, mcp-proxy), each reached by a
// real SDK client. A target starts its processes and returns an `echo(text)` call.
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { stringify as toYaml } from "yaml";
import {
  fixtureStdioCommand,
  freePort,
  nodeEntry,
  REPO_ROOT,
  type Running,
  startChild,
  startFixtureHttp,
  startWardenHttp,
  tsNode,
  waitForHttp,
  waitForOutput,
} from "../../test/fixtures/servers/child-process.js";
import { type RawClient, rawHttpClient, rawStdioClient } from "./raw-client.js";

export interface Connected {
  /** Calls the echo tool once and checks the reply has the argument's length. */
  echo(text: string): Promise<void>;
  /** Process ids of everything this target started (for CPU profiling / diagnostics). */
  pids: number[];
  close(): Promise<void>;
}

export interface BenchTarget {
  name: string;
  /** Which front door the client uses. */
  transport: "stdio" | "http";
  start(): Promise<Connected>;
}

/** "raw" (default): the minimal clients in raw-client.ts; "sdk": the MCP SDK v1 Client (realistic, heavier). */
export type ClientKind = "raw" | "sdk";
let clientKind: ClientKind = "raw";
export function setClientKind(kind: ClientKind): void {
  clientKind = kind;
}

function checkEcho(result: Record<string, unknown>, text: string): void {
  const first = (result.content as Array<{ type: string; text?: string }> | undefined)?.[0];
  if (result.isError || first?.text?.length !== text.length) {
    throw new Error(`bad echo reply: ${JSON.stringify(result).slice(0, 300)}`);
  }
}

async function connectSdk(
  transport: Transport,
  tool: string,
  cleanup: () => Promise<void>,
  pids: number[],
): Promise<Connected> {
  const client = new Client({ name: "warden-bench", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    pids,
    async echo(text: string) {
      checkEcho(await client.callTool({ name: tool, arguments: { text } }), text);
    },
    async close() {
      await client.close().catch(() => {});
      await cleanup();
    },
  };
}

function fromRaw(client: RawClient, tool: string, cleanup: () => Promise<void>, pids: number[]): Connected {
  return {
    pids,
    async echo(text: string) {
      checkEcho(await client.call("tools/call", { name: tool, arguments: { text } }), text);
    },
    async close() {
      await client.close().catch(() => {});
      await cleanup();
    },
  };
}

function stdioTarget(
  name: string,
  command: () => Promise<{ command: string; args: string[]; cleanup?: () => Promise<void> }>,
  tool = "echo",
): BenchTarget {
  return {
    name,
    transport: "stdio",
    async start() {
      const cmd = await command();
      const cleanup = async () => {
        await cmd.cleanup?.();
      };
      if (clientKind === "raw") {
        const client = await rawStdioClient(cmd.command, cmd.args, REPO_ROOT).catch(async (error) => {
          await cleanup();
          throw new Error(`${name}: ${(error as Error).message}`);
        });
        return fromRaw(client, tool, cleanup, client.pid ? [client.pid] : []);
      }
      const transport = new StdioClientTransport({
        command: cmd.command,
        args: cmd.args,
        cwd: REPO_ROOT,
        stderr: "pipe",
      });
      let stderr = "";
      transport.stderr?.on("data", (c: Buffer) => {
        stderr = (stderr + c.toString("utf8")).slice(-4000);
      });
      try {
        const connected = await connectSdk(transport, tool, cleanup, []);
        if (transport.pid) connected.pids.push(transport.pid);
        return connected;
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}\n${stderr}`);
      }
    },
  };
}

function httpTarget(
  name: string,
  launch: () => Promise<{
    url: string;
    /** The process the client talks to (its CPU is reported). */
    processes: Running[];
    /** Other processes to stop afterwards (not counted). */
    helpers?: Running[];
    cleanup?: () => Promise<void>;
  }>,
  tool = "echo",
): BenchTarget {
  return {
    name,
    transport: "http",
    async start() {
      const { url, processes, helpers = [], cleanup } = await launch();
      const stopAll = async () => {
        await Promise.all(processes.map((p) => p.stop()));
        await Promise.all(helpers.map((p) => p.stop()));
        await cleanup?.();
      };
      const pids = processes.map((p) => p.child.pid).filter((pid): pid is number => pid !== undefined);
      if (clientKind === "sdk")
        return connectSdk(new StreamableHTTPClientTransport(new URL(url)), tool, stopAll, pids);
      const client = await rawHttpClient(url).catch(async (error) => {
        await stopAll();
        throw new Error(`${name}: ${(error as Error).message}`);
      });
      return fromRaw(client, tool, stopAll, pids);
    },
  };
}

export const directStdio: BenchTarget = stdioTarget("direct stdio", async () => fixtureStdioCommand());

/** The fixture behind a process that only pipes bytes (bench/lib/bare-pipe.ts): the floor of any stdio hop. */
export const barePipe: BenchTarget = stdioTarget("bare pipe stdio", async () => {
  const fixture = fixtureStdioCommand();
  return tsNode(join(REPO_ROOT, "bench/lib/bare-pipe.ts"), ["--", fixture.command, ...fixture.args]);
});

export const directHttp: BenchTarget = httpTarget("direct Streamable HTTP", async () => {
  const fixture = await startFixtureHttp();
  return { url: fixture.url, processes: [fixture] };
});

/**
 * The fixture over Streamable HTTP behind a process that only relays TCP bytes
 * (bench/lib/bare-relay.ts): the floor of any HTTP hop, as the bare pipe is for stdio.
 */
export const bareRelay: BenchTarget = httpTarget("bare TCP relay (HTTP)", async () => {
  const fixture = await startFixtureHttp();
  const cmd = tsNode(join(REPO_ROOT, "bench/lib/bare-relay.ts"), ["--target", fixture.url]);
  const relay = startChild(cmd.command, cmd.args);
  try {
    const match = await waitForOutput(relay, /listening (http:\/\/\S+)/);
    return { url: match[1], processes: [relay], helpers: [fixture] };
  } catch (error) {
    await relay.stop();
    await fixture.stop();
    throw error;
  }
});

/** supergateway in stateful stdio→Streamable HTTP mode (stateless mode spawns a server per request). */
export const supergateway: BenchTarget = httpTarget("supergateway (stdio→HTTP)", async () => {
  const port = await freePort();
  const fixture = fixtureStdioCommand();
  const stdioCmd = [fixture.command, ...fixture.args].join(" ");
  const entry = join(REPO_ROOT, "node_modules/supergateway/dist/index.js");
  const args = [
    entry,
    "--stdio",
    stdioCmd,
    "--outputTransport",
    "streamableHttp",
    "--stateful",
    "--port",
    String(port),
    "--logLevel",
    "none",
  ];
  const running = startChild(process.execPath, args);
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitForHttp(url).catch(async (error) => {
    await running.stop();
    throw new Error(`supergateway did not start: ${(error as Error).message}\n${running.stderr()}`);
  });
  return { url, processes: [running] };
});

export const mcpProxy: BenchTarget = httpTarget("mcp-proxy (stdio→HTTP)", async () => {
  const port = await freePort();
  const fixture = fixtureStdioCommand();
  const entry = join(REPO_ROOT, "node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs");
  const args = [
    entry,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--server",
    "stream",
    "--",
    fixture.command,
    ...fixture.args,
  ];
  const running = startChild(process.execPath, args);
  const url = `http://127.0.0.1:${port}/mcp`;
  await waitForHttp(url).catch(async (error) => {
    await running.stop();
    throw new Error(`mcp-proxy did not start: ${(error as Error).message}\n${running.stderr()}`);
  });
  return { url, processes: [running] };
});

/** Server name warden gives the fixture in the bench config; its echo tool is exposed as `<server><sep>echo`. */
export const WARDEN_ECHO_SERVER = "bench";
export const WARDEN_SEPARATOR = "__";

/**
 * A temp warden.yaml + tool registry exposing the fixture (over stdio) as server `bench`.
 * Governance sections are off (proxy core only); `configPatch` is merged over the top level of
 * warden.yaml, so a "governance on" row passes e.g. `{ policy: {...}, audit: {...} }`.
 */
export async function writeWardenConfig(
  configPatch: Record<string, unknown> = {},
  serverOptions: Record<string, unknown> = {},
): Promise<{ file: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "warden-bench-"));
  const fixture = fixtureStdioCommand();
  const config = {
    environment: "bench",
    servers: {
      [WARDEN_ECHO_SERVER]: {
        command: fixture.command,
        args: fixture.args,
        cwd: REPO_ROOT,
        ...serverOptions,
      },
    },
    namespace: { separator: WARDEN_SEPARATOR },
    registry: { dir: "registry" },
    // The proxy core alone: `warden serve` turns the audit ledger and metrics on by default.
    audit: { enabled: false },
    metrics: { enabled: false },
    ...configPatch,
  };
  const file = join(dir, "warden.yaml");
  await writeFile(file, toYaml(config));
  await mkdir(join(dir, "registry"));
  await writeFile(
    join(dir, "registry", "bench.yaml"),
    toYaml({ servers: { [WARDEN_ECHO_SERVER]: { tools: ["*"] } } }),
  );
  return { file, dir };
}

const WARDEN_CHILD = join(REPO_ROOT, "bench/lib/warden-child.ts");
const wardenTool = `${WARDEN_ECHO_SERVER}${WARDEN_SEPARATOR}echo`;

/** WARDEN_BENCH_PROFILE=DIR: warden processes write V8 CPU profiles (.cpuprofile) to DIR on exit. */
function profileFlags(): string[] {
  const dir = process.env.WARDEN_BENCH_PROFILE;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

function nodeFlags(options: { nodeArgs?: string[] }): string[] {
  return [...profileFlags(), ...(options.nodeArgs ?? [])];
}

/** `warden serve` when the CLI has it (set WARDEN_BENCH_LAUNCHER=child to force the launcher). */
function useCli(): boolean {
  return (
    process.env.WARDEN_BENCH_LAUNCHER !== "child" && existsSync(join(REPO_ROOT, "src/cli/commands/serve.ts"))
  );
}

/**
 * The warden CLI a target runs for a checkout: its compiled `dist/cli/index.js` (what the `warden`
 * bin and `npx warden` run; `npm run bench:proxy` builds it first) when it is newer than every file
 * under `src/`, else `src/cli/index.ts` through tsx, which adds its loader's per-closure helpers to
 * every call. WARDEN_BENCH_SOURCE=1 forces the sources (e.g. for profiles with TypeScript lines).
 */
export function wardenCli(root: string = REPO_ROOT): string {
  const dist = join(root, "dist/cli/index.js");
  const source = join(root, "src/cli/index.ts");
  if (process.env.WARDEN_BENCH_SOURCE === "1" || !existsSync(dist)) return source;
  const built = statSync(dist).mtimeMs;
  const stale = readdirSync(join(root, "src"), { recursive: true, withFileTypes: true }).some(
    (e) => e.isFile() && e.name.endsWith(".ts") && statSync(join(e.parentPath, e.name)).mtimeMs > built,
  );
  return stale ? source : dist;
}

export interface WardenTargetOptions {
  /** Row label suffix, e.g. "governance on". */
  label?: string;
  configPatch?: Record<string, unknown>;
  /** Extra keys for the echo server's entry under `servers:` (e.g. `busyPollMicros`). */
  serverOptions?: Record<string, unknown>;
  /** Downstream fixture over Streamable HTTP (a `url:` server) instead of stdio. */
  httpDownstream?: boolean;
  /**
   * Another checkout of warden to run (e.g. a `git archive` of an older commit with node_modules
   * linked), for same-run before/after comparisons. Default: this one.
   */
  root?: string;
  /** Extra flags for the warden node process (e.g. `--max-semi-space-size=32`), before the entry. */
  nodeArgs?: string[];
}

/** serve's defaults for the sections the core rows switch off: the audit ledger + metrics. */
export const SERVE_DEFAULT_GOVERNANCE = { audit: { enabled: true }, metrics: { enabled: true, port: 0 } };

/** warden's stdio front door, downstream fixture over stdio. */
export function wardenStdio(options: WardenTargetOptions = {}): BenchTarget {
  let dir = "";
  return stdioTarget(
    `warden stdio${options.label ? ` (${options.label})` : ""}`,
    async () => {
      const config = await writeWardenConfig(options.configPatch, options.serverOptions);
      dir = config.dir;
      const cmd = useCli()
        ? nodeEntry(wardenCli(options.root), ["serve", "--config", config.file], nodeFlags(options))
        : tsNode(WARDEN_CHILD, ["--config", config.file], nodeFlags(options));
      return { ...cmd, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
    wardenTool,
  );
}

/** warden's Streamable HTTP front door, downstream fixture over stdio. */
export function wardenHttp(options: WardenTargetOptions = {}): BenchTarget {
  return httpTarget(
    `warden HTTP${options.label ? ` (${options.label})` : ""}`,
    async () => {
      const downstream = options.httpDownstream ? await startFixtureHttp() : undefined;
      const helpers = downstream ? [downstream] : [];
      const patch = downstream
        ? {
            servers: { [WARDEN_ECHO_SERVER]: { url: downstream.url, ...options.serverOptions } },
            ...options.configPatch,
          }
        : options.configPatch;
      // With an HTTP downstream the patch's `url:` entry replaces the stdio one, options included.
      const config = await writeWardenConfig(patch, downstream ? {} : options.serverOptions);
      const cleanup = async () => {
        await rm(config.dir, { recursive: true, force: true });
      };
      if (!useCli()) {
        const cmd = tsNode(WARDEN_CHILD, ["--config", config.file, "--http"], nodeFlags(options));
        const running = startChild(cmd.command, cmd.args);
        try {
          const match = await waitForOutput(running, /listening (http:\/\/\S+)/);
          return { url: match[1], processes: [running], helpers, cleanup };
        } catch (error) {
          await running.stop();
          await downstream?.stop();
          await cleanup();
          throw error;
        }
      }
      const running = await startWardenHttp(config.file, nodeFlags(options), wardenCli(options.root)).catch(
        async (error) => {
          await downstream?.stop();
          await cleanup();
          throw error;
        },
      );
      return { url: running.url, processes: [running], helpers, cleanup };
    },
    wardenTool,
  );
}
