// npm run bench:http-hop [-- --baseline DIR[,DIR]] [--rounds 10] [--calls 1500] [--warmup-ms 8000] [--no-direct] [--no-relay]
//                         [--stdio] [--warden-node-args "FLAGS[|FLAGS...]"] [--gc-count] [--busy-poll S[/F],...]
//
// The issue #2 cell alone, for A/B work on it: c=1, 64 B echo calls through warden's HTTP front
// door to the fixture's own Streamable HTTP server (warden HTTP → HTTP downstream), from this
// checkout and from each --baseline checkout, plus the fixture called directly. Rounds interleave
// the targets (each round: `--calls` calls per target in turn), so drift in machine load hits all
// of them alike; a bare TCP relay in front of the fixture (bench/lib/bare-relay.ts) is the floor
// of any HTTP hop. Every round reports p50 and the CPU per call of the process the client talks to,
// split into user and system time (/proc, 10 ms ticks), and its voluntary context switches per
// call (how often it slept and was woken) and involuntary ones (preempted). Medians over rounds
// are printed last.
//
// --stdio measures the stdio cell instead (direct stdio, the bare pipe, warden stdio → stdio
// downstream). --warden-node-args adds one warden row per `|`-separated set of node flags (e.g.
// "--max-semi-space-size=32|--min-semi-space-size=16"), beside the row without them.
// --gc-count preloads bench/lib/gc-count.mjs into every warden row and adds its scavenges per
// 1000 calls and GC pause per call (perf_hooks), plus each warden's RSS at the end.
// --busy-poll adds a warden row per spec with servers.<echo>.busyPollMicros S and, after a `/`,
// http.busyPollMicros F (src/upstream/busy-poll.ts; whole µs or auto, the default), e.g. "0/0,1000/1000".
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../test/fixtures/servers/child-process.js";
import { median } from "./lib/stats.js";
import {
  type BenchTarget,
  barePipe,
  bareRelay,
  type Connected,
  directHttp,
  directStdio,
  type WardenTargetOptions,
  wardenCli,
  wardenHttp,
  wardenStdio,
} from "./lib/targets.js";
import { payload } from "./proxy.bench.js";

const TICK_MS = 10; // USER_HZ = 100

/** User and system CPU ms of `pid` so far. */
function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) * TICK_MS, system: Number(fields[12]) * TICK_MS };
}

/** Context switches of `pid` so far (each voluntary one is a sleep in epoll/read, i.e. a wake-up). */
function contextSwitches(pid: number): { voluntary: number; involuntary: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const count = (key: string) =>
    Number(new RegExp(`^${key}:\\s*(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN);
  return { voluntary: count("voluntary_ctxt_switches"), involuntary: count("nonvoluntary_ctxt_switches") };
}

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

function positiveInt(argv: string[], flag: string, fallback: number): number {
  const v = Number(argValue(argv, flag) ?? fallback);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} takes a whole number`);
  return v;
}

/** Resident set size of `pid` now and its peak, in MB. */
function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

interface GcCounts {
  scavenges: number;
  scavengeMs: number;
  others: number;
  otherMs: number;
}

/** What bench/lib/gc-count.mjs last wrote for `pid` (zeros before its first GC). */
function gcCounts(dir: string, pid: number): GcCounts {
  const file = join(dir, `${pid}.json`);
  if (!existsSync(file)) return { scavenges: 0, scavengeMs: 0, others: 0, otherMs: 0 };
  return JSON.parse(readFileSync(file, "utf8")) as GcCounts;
}

interface Round {
  p50: number;
  user: number;
  system: number;
  /** Voluntary / involuntary context switches per call of the process the client talks to. */
  wakeups: number;
  preempted: number;
  /** With --gc-count: scavenges per 1000 calls, and all GC pause time per call (ms). */
  scavengesPer1000?: number;
  gcMsPerCall?: number;
}

async function main(argv: string[]): Promise<void> {
  const rounds = positiveInt(argv, "--rounds", 10);
  const calls = positiveInt(argv, "--calls", 1500);
  const warmupMs = positiveInt(argv, "--warmup-ms", 8000);
  const stdio = argv.includes("--stdio");
  const gcDir = argv.includes("--gc-count") ? mkdtempSync(join(tmpdir(), "warden-bench-gc-")) : undefined;
  if (gcDir) process.env.WARDEN_BENCH_GC_DIR = gcDir;
  const gcFlags = gcDir
    ? ["--import", pathToFileURL(join(import.meta.dirname, "lib/gc-count.mjs")).href]
    : [];
  const targets: BenchTarget[] = argv.includes("--no-direct") ? [] : [stdio ? directStdio : directHttp];
  if (!argv.includes("--no-relay")) targets.push(stdio ? barePipe : bareRelay);
  const warden = (label: string, options: WardenTargetOptions = {}): BenchTarget => {
    const nodeArgs = [...gcFlags, ...(options.nodeArgs ?? [])];
    return stdio
      ? wardenStdio({ ...options, nodeArgs, label: label || undefined })
      : wardenHttp({
          ...options,
          nodeArgs,
          label: `HTTP downstream${label ? `, ${label}` : ""}`,
          httpDownstream: true,
        });
  };
  targets.push(warden(""));
  for (const flags of argValue(argv, "--warden-node-args")?.split("|") ?? []) {
    const nodeArgs = flags.trim().split(/\s+/).filter(Boolean);
    if (!nodeArgs.every((a) => a.startsWith("--")))
      throw new Error(`--warden-node-args: not node flags: '${flags}'`);
    targets.push(warden(`node ${nodeArgs.join(" ")}`, { nodeArgs }));
  }
  // --busy-poll S[/F],...: rows with servers.<echo>.busyPollMicros S and http.busyPollMicros F
  // (each whole microseconds or `auto`; F left out keeps the default, auto).
  for (const spec of argValue(argv, "--busy-poll")?.split(",") ?? []) {
    const [server, front] = spec.split("/").map((v) => (v === "auto" ? v : Number(v)));
    if (![server, front ?? 0].every((v) => v === "auto" || (Number.isInteger(v) && (v as number) >= 0)))
      throw new Error(`--busy-poll: expected SERVER[/FRONT], each whole microseconds or auto, got '${spec}'`);
    targets.push(
      warden(`busyPollMicros ${server}, front door ${front ?? "auto"}`, {
        serverOptions: { busyPollMicros: server },
        ...(front !== undefined && { configPatch: { http: { busyPollMicros: front } } }),
      }),
    );
  }
  for (const dir of argValue(argv, "--baseline")?.split(",") ?? [])
    targets.push(warden(`baseline ${dir}`, { root: dir }));
  const text = payload(64);
  const connected: Connected[] = [];
  try {
    for (const t of targets) {
      process.stderr.write(`starting ${t.name}\n`);
      connected.push(await t.start());
    }
    for (const conn of connected) {
      const end = Date.now() + warmupMs;
      for (let i = 0; i < 300 || Date.now() < end; i++) await conn.echo(text);
    }
    const results = targets.map((): Round[] => []);
    for (let r = 1; r <= rounds; r++) {
      for (const [i, conn] of connected.entries()) {
        const pid = conn.pids[0];
        const before = cpuSplit(pid);
        const switchesBefore = contextSwitches(pid);
        const gcBefore = gcDir ? gcCounts(gcDir, pid) : undefined;
        const latencies: number[] = [];
        for (let k = 0; k < calls; k++) {
          const t0 = process.hrtime.bigint();
          await conn.echo(text);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        const after = cpuSplit(pid);
        const switchesAfter = contextSwitches(pid);
        // Let the observer deliver the round's last GC entries (it runs on a later tick).
        if (gcDir) await new Promise((resolve) => setTimeout(resolve, 20));
        const gcAfter = gcDir ? gcCounts(gcDir, pid) : undefined;
        const gc =
          gcBefore && gcAfter && targets[i].name.startsWith("warden")
            ? {
                scavengesPer1000: ((gcAfter.scavenges - gcBefore.scavenges) * 1000) / calls,
                gcMsPerCall:
                  (gcAfter.scavengeMs + gcAfter.otherMs - gcBefore.scavengeMs - gcBefore.otherMs) / calls,
              }
            : {};
        const round: Round = {
          p50: median(latencies),
          user: (after.user - before.user) / calls,
          system: (after.system - before.system) / calls,
          wakeups: (switchesAfter.voluntary - switchesBefore.voluntary) / calls,
          preempted: (switchesAfter.involuntary - switchesBefore.involuntary) / calls,
          ...gc,
        };
        results[i].push(round);
        process.stderr.write(
          `round ${r} ${targets[i].name}: p50 ${round.p50.toFixed(3)} ms, CPU ${(round.user + round.system).toFixed(3)} ms/call\n`,
        );
      }
    }
    const f = (v: number) => v.toFixed(3);
    const gcHead = gcDir ? " scavenges/1000 calls | GC ms/call | RSS MB (peak) |" : "";
    const lines = [
      `| target | p50 ms (median of rounds) | p50 per round | CPU ms/call (median) | user | system | wake-ups/call | preempted/call |${gcHead}`,
      `|---|---:|---|---:|---:|---:|---:|---:|${gcDir ? "---:|---:|---:|" : ""}`,
    ];
    for (const [i, t] of targets.entries()) {
      const rs = results[i];
      let gcCells = "";
      if (gcDir) {
        const withGc = rs.filter((x) => x.gcMsPerCall !== undefined);
        const mem = rssMb(connected[i].pids[0]);
        gcCells = withGc.length
          ? ` ${median(withGc.map((x) => x.scavengesPer1000 as number)).toFixed(1)} | ${median(withGc.map((x) => x.gcMsPerCall as number)).toFixed(4)} | ${mem.rss.toFixed(0)} (${mem.peak.toFixed(0)}) |`
          : ` | | ${mem.rss.toFixed(0)} (${mem.peak.toFixed(0)}) |`;
      }
      lines.push(
        `| ${t.name} | ${f(median(rs.map((x) => x.p50)))} | ${rs.map((x) => f(x.p50)).join(" ")} | ${f(median(rs.map((x) => x.user + x.system)))} | ${f(median(rs.map((x) => x.user)))} | ${f(median(rs.map((x) => x.system)))} | ${median(rs.map((x) => x.wakeups)).toFixed(2)} | ${median(rs.map((x) => x.preempted)).toFixed(2)} |${gcCells}`,
      );
    }
    const p50Of = (name: string) => {
      const i = targets.findIndex((t) => t.name === name);
      return i >= 0 ? median(results[i].map((x) => x.p50)) : undefined;
    };
    const direct = p50Of((stdio ? directStdio : directHttp).name);
    const relay = p50Of((stdio ? barePipe : bareRelay).name);
    const notes: string[] = [];
    for (const t of targets) {
      if (!t.name.startsWith("warden")) continue;
      const w = p50Of(t.name) as number;
      const over = (base: number | undefined, what: string) =>
        base === undefined ? "" : `, ${w - base >= 0 ? "+" : ""}${f(w - base)} ms over ${what}`;
      notes.push(
        `${t.name}: p50${over(direct, "direct")}${over(relay, stdio ? "the bare pipe" : "the bare relay")}`,
      );
    }
    if (direct !== undefined && relay !== undefined)
      notes.push(
        `${stdio ? "bare pipe" : "bare TCP relay"}: ${relay - direct >= 0 ? "+" : ""}${f(relay - direct)} ms over direct`,
      );
    lines.push("", ...notes);
    process.stdout.write(
      `\n## ${stdio ? "stdio hop" : "HTTP hop"} (c=1, 64 B; ${rounds} rounds × ${calls} calls per target; Node ${process.version}; warden runs ${relative(REPO_ROOT, wardenCli())})\n\n${lines.join("\n")}\n`,
    );
  } finally {
    await Promise.all(connected.map((c) => c.close()));
    if (gcDir) rmSync(gcDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`bench:http-hop failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
