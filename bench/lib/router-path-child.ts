// One measurement process of bench/router-path.bench.ts: warden's per-call JavaScript between a
// front door and a downstream wire, in process, no sockets. It loads a checkout's compiled dist/
// (the stages `warden serve` installs, the registry stage, Router, Pipeline, UpstreamConnection)
// and drives c=1 tools/call requests the way the HTTP and stdio front doors hand them over (bytes
// scanned for their envelope → Router.handleRawCall), through a fake Wire that answers each
// request on the next macrotask (setImmediate, like a socket read) with the fixture's echo
// answer as bytes. Prints one JSON line: { cpuUsPerCall, wallUsPerCall }.
//
// Run by the parent as `node --import tsx router-path-child.ts ROOT WARMUP_CALLS CALLS`: tsx
// transforms this file only, the checkout's dist/ runs as compiled.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Wire } from "../../src/upstream/wire.js";

/** A module of `root`'s dist/, typed as this checkout's source (the APIs used here are stable). */
async function load<T>(root: string, rel: string): Promise<T> {
  return (await import(pathToFileURL(join(root, "dist", rel)).href)) as T;
}

const SERVER = "bench";
const SEP = "__";
const TEXT = "x".repeat(64);

/**
 * ROUTER_PATH_HEAP=FILE: V8's sampling heap profiler over the measured calls, objects collected by
 * GC included (so per-call garbage shows), written to FILE as a .heapprofile; the top allocation
 * sites per call go to stderr.
 */
async function startHeapSampling() {
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return {
    async stop(file: string, calls: number) {
      const { profile } = await session.post("HeapProfiler.stopSampling");
      writeFileSync(file, JSON.stringify(profile));
      const sites = new Map<string, number>();
      let total = 0;
      const walk = (node: typeof profile.head) => {
        const f = node.callFrame;
        const key = `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/(dist|bench|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
        sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
        total += node.selfSize;
        for (const c of node.children) walk(c);
      };
      walk(profile.head);
      const top = [...sites].sort((a, b) => b[1] - a[1]).slice(0, 30);
      process.stderr.write(`heap: ${(total / calls).toFixed(0)} B/call\n`);
      for (const [k, v] of top) process.stderr.write(`${(v / calls).toFixed(0).padStart(6)} B/call  ${k}\n`);
    },
  };
}

async function main(): Promise<void> {
  const [root, warmupArg, callsArg] = process.argv.slice(2);
  const warmup = Number(warmupArg);
  const calls = Number(callsArg);
  const { buildFullProgram } = await load<typeof import("../../src/cli/program.js")>(root, "cli/program.js");
  await buildFullProgram(); // registers every area's plugins, as `warden serve` does
  const { buildPlugins } = await load<typeof import("../../src/server/plugins.js")>(
    root,
    "server/plugins.js",
  );
  const { parseConfig } = await load<typeof import("../../src/config/load.js")>(root, "config/load.js");
  const { parseRegistry } = await load<typeof import("../../src/registry/registry.js")>(
    root,
    "registry/registry.js",
  );
  const { registryStage } = await load<typeof import("../../src/registry/stage.js")>(
    root,
    "registry/stage.js",
  );
  const { Pipeline } = await load<typeof import("../../src/pipeline/runner.js")>(root, "pipeline/runner.js");
  const { Router } = await load<typeof import("../../src/server/router.js")>(root, "server/router.js");
  const { ClientSession } = await load<typeof import("../../src/server/session.js")>(
    root,
    "server/session.js",
  );
  const { UpstreamConnection } = await load<typeof import("../../src/upstream/connection.js")>(
    root,
    "upstream/connection.js",
  );
  const { scanEnvelope } = await load<typeof import("../../src/upstream/envelope.js")>(
    root,
    "upstream/envelope.js",
  );
  const { RawRequest, rawCallEnvelope, rawResultId } = await load<
    typeof import("../../src/upstream/ndjson.js")
  >(root, "upstream/ndjson.js");

  // The bench's warden.yaml (writeWardenConfig in bench/lib/targets.ts) with a placeholder server.
  const { config } = parseConfig({
    environment: "bench",
    servers: { [SERVER]: { url: "http://127.0.0.1:9/mcp" } },
    namespace: { separator: SEP },
    registry: { dir: "registry" },
    audit: { enabled: false },
    metrics: { enabled: false },
  });
  const plugins = await buildPlugins({ config, environment: "bench", configDir: process.cwd() });
  const registry = parseRegistry({ servers: { [SERVER]: { tools: ["*"] } } }, "bench");
  const pipeline = new Pipeline([registryStage(registry, SEP), ...plugins.stages]);

  // The downstream: an UpstreamConnection over a wire that answers on the next macrotask.
  const wire: Wire = {
    supportsRaw: true,
    send() {},
    sendRaw(_line, id) {
      setImmediate(() => {
        const answer = Buffer.from(
          `{"result":{"content":[{"type":"text","text":"${TEXT}"}]},"jsonrpc":"2.0","id":${id}}`,
        );
        const hit = rawResultId(answer);
        if (!hit || !wire.onrawresult?.(hit.id, answer, hit.idStart)) throw new Error("raw result not taken");
      });
    },
    async close() {},
  };
  const conn = new UpstreamConnection(SERVER, wire, {
    onRequest: async () => ({}),
    onNotification() {},
    onClose() {},
  });
  const server = {
    name: SERVER,
    config: { timeoutMs: 60_000 },
    restarts: 0,
    isolation: "shared",
    capabilities: {},
    readyConnection: () => conn,
    releaseSession: async () => {},
  };
  const router = new Router({
    environment: "bench",
    separator: SEP,
    servers: [server as unknown as import("../../src/upstream/server.js").UpstreamServer],
    pipeline,
    log() {},
  });
  const subject = {
    user: "anonymous",
    tenant: "default",
    roles: [],
    scopes: [],
    authMethod: "anonymous" as const,
  };
  let replied: (() => void) | undefined;
  const session = new ClientSession("s1", "http", subject, (msg) => {
    throw new Error(`unexpected message ${JSON.stringify(msg)}`);
  });
  session.sendRaw = (raw, id) => {
    raw.pieces(id, "\n");
    replied?.();
  };
  router.addSession(session);

  const call = (n: number) =>
    new Promise<void>((resolve) => {
      replied = resolve;
      const bytes = Buffer.from(
        `{"jsonrpc":"2.0","id":${n},"method":"tools/call","params":{"name":"${SERVER}${SEP}echo","arguments":{"text":"${TEXT}"}}}`,
      );
      const env = rawCallEnvelope(scanEnvelope(bytes, "tools/call"));
      if (!env) throw new Error("envelope not scanned");
      router.handleRawCall(session, new RawRequest(bytes, env));
    });

  let n = 1;
  for (let i = 0; i < warmup; i++) await call(n++);
  const heap = process.env.ROUTER_PATH_HEAP ? await startHeapSampling() : undefined;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) await call(n++);
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - t0) / 1e3;
  process.stdout.write(
    `${JSON.stringify({ cpuUsPerCall: (cpu.user + cpu.system) / calls, wallUsPerCall: wall / calls })}\n`,
  );
  if (heap) await heap.stop(process.env.ROUTER_PATH_HEAP as string, calls);
  await plugins.close();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`router-path child failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
