// A warden with the governance pipeline in front of a real @modelcontextprotocol/server-filesystem,
// reached by a real MCP SDK client over Streamable HTTP on 127.0.0.1.
import { mkdir, mkdtemp, realpath, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { stringify as toYaml } from "yaml";
import { auditConfigSchema } from "../../src/audit/config.js";
import { metricsConfigSchema } from "../../src/metrics/config.js";
import type { Subject } from "../../src/pipeline/types.js";
import type { PolicyBackend } from "../../src/policy/backend.js";
import { policyConfigSchema } from "../../src/policy/config.js";
import { createGovernance, type Governance } from "../../src/policy/governance.js";
import { parseRegistry } from "../../src/registry/registry.js";
import { silentLogger } from "../../src/server/logger.js";
import { createWarden, type Warden } from "../../src/server/warden.js";

export const POLICIES = resolve(import.meta.dirname, "../../policies");
const FS_SERVER = createRequire(import.meta.url).resolve(
  "@modelcontextprotocol/server-filesystem/dist/index.js",
);

/**
 * Writes `dir`/warden.yaml for `warden serve`: environment dev, server-filesystem as `fs` over
 * `files`, the REGISTRY below in `dir`/registry, plus the given sections (policy, audit, ...).
 */
export async function writeServeConfig(dir: string, files: string, sections: Record<string, unknown>) {
  await mkdir(join(dir, "registry"));
  await writeFile(join(dir, "registry", "dev.yaml"), toYaml(REGISTRY));
  await writeFile(
    join(dir, "warden.yaml"),
    toYaml({
      environment: "dev",
      servers: { fs: { command: process.execPath, args: [FS_SERVER, files], createDirs: [files] } },
      registry: { dir: "registry" },
      ...sections,
    }),
  );
}

/** dev registry: reads and write_file; everything else (move_file, edit_file, ...) is unlisted. */
export const REGISTRY = {
  servers: {
    fs: {
      tools: [
        { name: "{read_text_file,list_directory}", risk: "low", labels: ["fs-read"] },
        { name: "write_file", risk: "medium", labels: ["fs-write"] },
      ],
    },
  },
};

export interface Harness {
  dir: string;
  files: string;
  auditPath: string;
  warden: Warden;
  gov: Governance;
  url: string;
  client(user?: string, team?: string): Promise<Client>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: { policy?: Record<string, unknown>; backend?: PolicyBackend; dir?: string } = {},
): Promise<Harness> {
  const dir = opts.dir ?? (await realpath(await mkdtemp(join(tmpdir(), "warden-gov-"))));
  const files = join(dir, "files");
  const auditPath = join(dir, "audit", "audit.jsonl");
  const registry = parseRegistry(REGISTRY, "dev");
  const gov = await createGovernance({
    configDir: dir,
    environment: "dev",
    policy: policyConfigSchema.parse({ paths: [POLICIES], ...opts.policy }),
    audit: auditConfigSchema.parse({ path: auditPath, durability: "write" }),
    metrics: metricsConfigSchema.parse({ port: 0, processMetrics: false }),
    separator: "__",
    toolMeta: (s, t) => registry.lookup(s, t),
    signals: false,
    backend: opts.backend,
  });
  const warden = await createWarden({
    config: { servers: { fs: { command: process.execPath, args: [FS_SERVER, files], createDirs: [files] } } },
    env: "dev",
    registry,
    stages: gov.stages,
    log: silentLogger,
  });
  gov.metrics?.observeUpstreams(() => warden.status());
  // Who calls: x-user / x-team headers (a stand-in for the identity stage's API keys).
  const authenticate = async (req: IncomingMessage): Promise<Subject> => ({
    user: String(req.headers["x-user"] ?? "alice"),
    tenant: "acme",
    team: req.headers["x-team"] ? String(req.headers["x-team"]) : undefined,
    roles: [],
    scopes: [],
    authMethod: "api_key",
  });
  const door = await warden.listenHttp({ host: "127.0.0.1", port: 0, authenticate });
  const clients: Client[] = [];
  return {
    dir,
    files,
    auditPath,
    warden,
    gov,
    url: door.url,
    async client(user = "alice", team?: string) {
      const c = new Client({ name: `client-${user}`, version: "1.0.0" });
      const headers: Record<string, string> = { "x-user": user };
      if (team) headers["x-team"] = team;
      await c.connect(
        new StreamableHTTPClientTransport(new URL(`${door.url}/mcp`), { requestInit: { headers } }),
      );
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await warden.close();
      await gov.close();
    },
  };
}

/** Calls a tool and returns either its text or the error message. */
export async function call(c: Client, name: string, args: Record<string, unknown>) {
  try {
    const r = await c.callTool({ name, arguments: args });
    const text = ((r.content as Array<{ text?: string }>) ?? []).map((x) => x.text ?? "").join("");
    return { ok: !r.isError, text, error: undefined as string | undefined };
  } catch (err) {
    return { ok: false, text: "", error: (err as Error).message };
  }
}
