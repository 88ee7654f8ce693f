// npx tsx bench/audit.bench.ts [--quick] [--proxy | --http [--baseline DIR,DIR] [--rounds N] | --stages]
//
// 1. Audit ledger throughput: records/s with many calls in flight (group commit), for both
//    durability settings, and the latency of one awaited append.
// 2. Governance cost per call: the pipeline runner with the governance stages (shipped Rego
//    policies via the embedded engine, audit ledger, metrics) against the same runner with no
//    stages, on identical synthetic tools/call contexts; rounds interleave both so machine
//    load hits them alike. Reported as medians over rounds of each round's p50, and the delta.
//    --stages runs only this part.
//
// For `npm run bench:proxy`: governanceConfigPatch() returns the warden.yaml sections that turn
// the governance pipeline on for the bench's `bench` environment (see the report/docs).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { auditConfigSchema } from "../src/audit/config.js";
import { AuditLedger } from "../src/audit/ledger.js";
import type { AuditEntry } from "../src/audit/record.js";
import { metricsConfigSchema } from "../src/metrics/config.js";
import { Pipeline } from "../src/pipeline/runner.js";
import type { CallContext } from "../src/pipeline/types.js";
import { policyConfigSchema } from "../src/policy/config.js";
import { createGovernance } from "../src/policy/governance.js";
import { median, percentile } from "./lib/stats.js";

const POLICIES = resolve(import.meta.dirname, "../policies");

/** An extra policy file making the proxy bench's `bench` environment behave like dev. */
export const BENCH_ENV_POLICY = `package warden.settings

environments contains "bench"

loose_environments contains "bench"
`;

/** warden.yaml sections that turn governance on for bench/proxy.bench.ts (environment "bench"). */
export async function governanceConfigPatch(dir: string): Promise<Record<string, unknown>> {
  const extra = join(dir, "bench-env.rego");
  await writeFile(extra, BENCH_ENV_POLICY);
  // One bench session makes many thousands of calls: lift the dev-style session budget.
  const overrides = join(dir, "bench-overrides.json");
  await writeFile(overrides, JSON.stringify({ warden_config: { dev_session_budget: 1_000_000_000 } }));
  return {
    policy: { paths: [POLICIES, extra, overrides] },
    audit: { path: join(dir, "audit.jsonl") },
    // BENCH_PROCESS_METRICS=0: without prom-client's default process metrics (GC observer, event-loop monitor).
    metrics: { port: 0, ...(process.env.BENCH_PROCESS_METRICS === "0" ? { processMetrics: false } : {}) },
  };
}

const ENTRY: AuditEntry = {
  event: "decision",
  subject: { user: "alice", tenant: "acme", authMethod: "api_key", credentialId: "key-1" },
  session: "7f7c1c1e-3a52-4c36-9d69-4a4f0a1d1b2c",
  requestId: 42,
  method: "tools/call",
  server: "filesystem",
  tool: "read_text_file",
  argsHmac: "9f2c".repeat(16),
  decision: "allow",
  reasons: ["dev: registered tool"],
  mode: "enforce",
  effectiveMode: "enforce",
  policyVersion: "sha256:0123456789abcdef",
  outcome: "ok",
  durations: { total_ms: 1.234, policy_ms: 0.045 },
};

/** Records per wall-clock second and per CPU second (the latter is steadier on a shared machine). */
async function ledgerThroughput(
  durability: "write" | "fsync",
  records: number,
  inFlight: number,
): Promise<{ wall: number; cpu: number }> {
  const dir = await mkdtemp(join(tmpdir(), "warden-audit-bench-"));
  const ledger = await AuditLedger.open({ path: join(dir, "audit.jsonl"), durability, rotateBytes: 0 });
  await ledger.flushed();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < records) {
      next++;
      await ledger.append(ENTRY);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  await ledger.close();
  await rm(dir, { recursive: true, force: true });
  return { wall: records / seconds, cpu: records / ((cpu.user + cpu.system) / 1e6) };
}

async function appendLatency(durability: "write" | "fsync", n: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "warden-audit-bench-"));
  const ledger = await AuditLedger.open({ path: join(dir, "audit.jsonl"), durability, rotateBytes: 0 });
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await ledger.append(ENTRY);
    lat.push(performance.now() - t);
  }
  await ledger.close();
  await rm(dir, { recursive: true, force: true });
  return median(lat);
}

let session = 0;
/**
 * A tools/call context. `repeat`: the same session, tool and arguments every call (the decision
 * cache hits); otherwise a new session, call count and argument per call (every call misses: the
 * shipped policies read the arguments).
 */
function context(repeat: boolean, i: number): CallContext {
  const sameSession = repeat;
  return {
    requestId: i,
    transport: "http",
    environment: "dev",
    method: "tools/call",
    subject: { user: "alice", tenant: "acme", roles: [], scopes: [], authMethod: "api_key" },
    session: {
      id: sameSession ? "s" : `s${session++}`,
      callCount: sameSession ? 0 : i % 1000,
      toolsCalled: [],
      flags: {},
    },
    client: { capabilities: {}, clientInfo: { name: "bench", version: "1" } },
    server: "filesystem",
    tool: "read_text_file",
    exposedName: "filesystem__read_text_file",
    toolMeta: { risk: "low", labels: ["fs-read"], requiresApproval: false },
    params: {
      name: "filesystem__read_text_file",
      arguments: { path: repeat ? "/srv/data/notes.txt" : `/srv/data/notes-${i}.txt`, head: 20 },
    },
    findings: [],
    annotations: {},
    startedAt: process.hrtime.bigint(),
    signal: new AbortController().signal,
  };
}

const RESULT = { content: [{ type: "text", text: "hello" }] };
const execute = async () => RESULT;

async function perCall(p: Pipeline, n: number, repeat: boolean): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const ctx = context(repeat, i);
    const t = performance.now();
    await p.run(ctx, execute);
    lat.push(performance.now() - t);
  }
  return lat.sort((a, b) => a - b);
}

/** --proxy: warden HTTP with governance off vs on, through the proxy bench's harness. */
async function proxyRow(quick: boolean, out: (s: string) => void): Promise<void> {
  const { runProxyBench, wardenHttp } = await import("./proxy.bench.js");
  const dir = await mkdtemp(join(tmpdir(), "warden-gov-proxy-"));
  const off = wardenHttp({ label: "governance off" });
  const on = wardenHttp({ label: "governance on", configPatch: await governanceConfigPatch(dir) });
  const results = await runProxyBench({
    targets: [off, on],
    concurrencies: [1],
    sizes: [256],
    rounds: quick ? 3 : 5,
    cellMs: quick ? 1500 : 3000,
    log: () => {},
  });
  const by = (name: string) => results.find((r) => r.target === name);
  const a = by(off.name);
  const b = by(on.name);
  for (const r of [a, b])
    if (r)
      out(
        `${r.target.padEnd(32)} p50 ${r.latency.p50.toFixed(3)} ms, p99 ${r.latency.p99.toFixed(3)} ms, ${r.callsPerSecond.toFixed(0)} calls/s, errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ""}`,
      );
  if (a && b)
    out(
      `governance adds p50 ${((b.latency.p50 - a.latency.p50) * 1000).toFixed(0)} µs per call (ratio ${(b.latency.p50 / a.latency.p50).toFixed(2)}x)`,
    );
  await rm(dir, { recursive: true, force: true });
}

/**
 * --http: one process holding in-process wardens (governance off / on) in front of the echo
 * fixture, called over Streamable HTTP by a raw client; reports CPU per call of the whole process
 * (client + warden, the same client for all) and p50 latency, rounds rotating the order.
 * `--baseline DIR[,DIR]` adds a governed warden built from another checkout's src/ (e.g. a
 * worktree of main) to the same process: a same-run A/B that the machine's load hits alike.
 */
async function httpCpu(
  quick: boolean,
  baselines: string[],
  rounds: number,
  out: (s: string) => void,
): Promise<void> {
  const { fixtureStdioCommand, REPO_ROOT } = await import("../test/fixtures/servers/child-process.js");
  const { rawHttpClient } = await import("./lib/raw-client.js");
  const dir = await mkdtemp(join(tmpdir(), "warden-gov-http-"));
  const patch = (await governanceConfigPatch(dir)) as { policy: Record<string, unknown> };
  const fx = fixtureStdioCommand();
  const start = async (governed: boolean, root: string) => {
    const src = (file: string) => import(pathToFileURL(join(root, "src", file)).href);
    const { createWarden } = await src("server/warden.ts");
    const { parseRegistry } = await src("registry/registry.ts");
    const gov = await src("policy/governance.ts");
    const schemas = {
      policy: (await src("policy/config.ts")).policyConfigSchema,
      metrics: (await src("metrics/config.ts")).metricsConfigSchema,
      audit: (await src("audit/config.ts")).auditConfigSchema,
    };
    const g = governed
      ? await gov.createGovernance({
          configDir: dir,
          environment: "bench",
          policy: schemas.policy.parse({ ...patch.policy, watch: false }),
          metrics: schemas.metrics.parse({
            port: 0,
            processMetrics: process.env.BENCH_PROCESS_METRICS !== "0",
          }),
          audit: process.env.BENCH_NO_AUDIT
            ? undefined
            : schemas.audit.parse({ path: join(dir, `audit-${Math.random().toString(36).slice(2)}.jsonl`) }),
          signals: false,
        })
      : undefined;
    const w = await createWarden({
      config: { servers: { echo: { command: fx.command, args: fx.args, cwd: REPO_ROOT } } },
      env: "bench",
      registry: parseRegistry({ servers: { echo: { tools: ["*"] } } }, "bench"),
      stages: g?.stages ?? [],
      log: () => {},
    });
    const door = await w.listenHttp({ host: "127.0.0.1", port: 0 });
    return {
      client: await rawHttpClient(`${door.url}/mcp`),
      close: async () => {
        await w.close();
        await g?.close();
      },
    };
  };
  const here = resolve(import.meta.dirname, "..");
  const targets: Record<string, Awaited<ReturnType<typeof start>>> = {
    off: await start(false, here),
    on: await start(true, here),
  };
  for (const b of baselines) targets[`on (${b})`] = await start(true, resolve(b));
  const names = Object.keys(targets);
  const args = { name: "echo__echo", arguments: { text: "x".repeat(256) } };
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const p50: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const n = quick ? 300 : 1000;
  // Long warm-up: the Rego evaluator needs a few thousand calls before the JIT settles.
  for (const t of Object.values(targets))
    for (let i = 0; i < (quick ? 1000 : 3000); i++) await t.client.call("tools/call", args);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so no target always runs first (or right after another).
    const order = names.map((_, i) => names[(i + r) % names.length] as string);
    for (const name of r % 2 ? order.reverse() : order) {
      const lat: number[] = [];
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await targets[name].client.call("tools/call", args);
        lat.push(performance.now() - t0);
      }
      const c = process.cpuUsage(c0);
      cpu[name].push((c.user + c.system) / n);
      p50[name].push(median(lat));
    }
  }
  const width = Math.max(...names.map((k) => k.length));
  for (const name of names)
    out(
      `governance ${name.padEnd(width)}: ${median(cpu[name]).toFixed(0)} µs CPU per call (client + warden), p50 ${(median(p50[name]) * 1000).toFixed(0)} µs`,
    );
  for (const name of names.filter((k) => k !== "off"))
    out(
      `governance ${name.padEnd(width)} adds ${(median(cpu[name]) - median(cpu.off)).toFixed(0)} µs CPU per call, ${((median(p50[name]) - median(p50.off)) * 1000).toFixed(0)} µs p50`,
    );
  for (const t of Object.values(targets)) await t.close();
  await rm(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  if (process.argv.includes("--http")) {
    process.stdout.write(
      `## in-process warden over HTTP, echo tool, governance off vs on (load ${loadavg()[0].toFixed(1)})\n`,
    );
    const i = process.argv.indexOf("--baseline");
    const baselines = i > 0 ? (process.argv[i + 1] ?? "").split(",").filter(Boolean) : [];
    const r = process.argv.indexOf("--rounds");
    const rounds = r > 0 ? Number(process.argv[r + 1]) : quick ? 4 : 8;
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds must be a positive integer");
    await httpCpu(quick, baselines, rounds, (s) => process.stdout.write(`${s}\n`));
    process.exit(0);
  }
  if (process.argv.includes("--proxy")) {
    process.stdout.write("## warden HTTP, echo tool, 256 B argument, concurrency 1: governance off vs on\n");
    await proxyRow(quick, (s) => process.stdout.write(`${s}\n`));
    return;
  }
  const rounds = quick ? 3 : 5;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")} (2-core machine shared with other work)`,
  );

  const ledgerRows = !process.argv.includes("--stages");
  if (ledgerRows) out(`## Audit ledger (${rounds} rounds, median)`);
  const records = quick ? 20_000 : 50_000;
  for (const durability of ledgerRows ? (["write", "fsync"] as const) : []) {
    for (const inFlight of [64, 1024]) {
      const r: Array<{ wall: number; cpu: number }> = [];
      for (let i = 0; i < rounds; i++) r.push(await ledgerThroughput(durability, records, inFlight));
      const wall = r.map((x) => x.wall);
      out(
        `ledger ${durability.padEnd(5)} ${String(inFlight).padStart(4)} in flight: ${median(wall).toFixed(0)} records/s wall (rounds: ${wall.map((x) => x.toFixed(0)).join(", ")}), ${median(r.map((x) => x.cpu)).toFixed(0)} records per CPU-second`,
      );
    }
    const l: number[] = [];
    for (let i = 0; i < rounds; i++) l.push(await appendLatency(durability, quick ? 300 : 1000));
    out(`ledger ${durability.padEnd(5)} one awaited append: p50 ${(median(l) * 1000).toFixed(1)} µs`);
  }

  out("");
  out(
    `## Governance stages per call, pipeline runner in-process (${rounds} rounds, median of per-round p50)`,
  );
  const dir = await mkdtemp(join(tmpdir(), "warden-gov-bench-"));
  const variants: Array<{
    name: string;
    durability?: "write" | "fsync";
    audit: boolean;
    policy: boolean;
    same: boolean;
  }> = [
    { name: "policy only (cache miss every call)", audit: false, policy: true, same: false },
    { name: "policy only (cache hit)", audit: false, policy: true, same: true },
    {
      name: "policy + metrics + audit(write), miss",
      durability: "write",
      audit: true,
      policy: true,
      same: false,
    },
    {
      name: "policy + metrics + audit(write), hit",
      durability: "write",
      audit: true,
      policy: true,
      same: true,
    },
    {
      name: "policy + metrics + audit(fsync), hit",
      durability: "fsync",
      audit: true,
      policy: true,
      same: true,
    },
  ];
  const baseline = new Pipeline([]);
  const govs = await Promise.all(
    variants.map(async (v, i) =>
      createGovernance({
        configDir: dir,
        environment: "dev",
        policy: policyConfigSchema.parse({ paths: [POLICIES], watch: false }),
        audit: v.audit
          ? auditConfigSchema.parse({ path: join(dir, `audit-${i}.jsonl`), durability: v.durability })
          : undefined,
        metrics: metricsConfigSchema.parse({ port: 0, processMetrics: false }),
        signals: false,
      }),
    ),
  );
  const pipelines = govs.map((g) => new Pipeline(g.stages));
  const n = quick ? 1000 : 3000;
  // Warm-up (JIT, caches).
  await perCall(baseline, 500, false);
  for (const p of pipelines) await perCall(p, 500, false);
  const base50: number[] = [];
  const var50: number[][] = variants.map(() => []);
  const var99: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    base50.push(percentile(await perCall(baseline, n, false), 50));
    for (let i = 0; i < variants.length; i++) {
      const lat = await perCall(pipelines[i], n, variants[i].same);
      var50[i].push(percentile(lat, 50));
      var99[i].push(percentile(lat, 99));
    }
  }
  const b = median(base50);
  out(`baseline (no stages): p50 ${(b * 1000).toFixed(1)} µs`);
  for (let i = 0; i < variants.length; i++) {
    const p50 = median(var50[i]);
    out(
      `${variants[i].name.padEnd(38)} p50 ${(p50 * 1000).toFixed(1)} µs, added p50 ${((p50 - b) * 1000).toFixed(1)} µs (${(p50 / b).toFixed(1)}x baseline), p99 ${(median(var99[i]) * 1000).toFixed(1)} µs`,
    );
  }
  for (const g of govs) await g.close();
  await rm(dir, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
