// npm run bench:http-hop [-- --baseline DIR[,DIR]] [--rounds 10] [--calls 1500] [--warmup-ms 8000] [--no-direct] [--no-relay]
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
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { REPO_ROOT } from "../test/fixtures/servers/child-process.js";
import { median } from "./lib/stats.js";
import {
  type BenchTarget,
  bareRelay,
  type Connected,
  directHttp,
  wardenCli,
  wardenHttp,
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

interface Round {
  p50: number;
  user: number;
  system: number;
  /** Voluntary / involuntary context switches per call of the process the client talks to. */
  wakeups: number;
  preempted: number;
}

async function main(argv: string[]): Promise<void> {
  const rounds = positiveInt(argv, "--rounds", 10);
  const calls = positiveInt(argv, "--calls", 1500);
  const warmupMs = positiveInt(argv, "--warmup-ms", 8000);
  const targets: BenchTarget[] = argv.includes("--no-direct") ? [] : [directHttp];
  if (!argv.includes("--no-relay")) targets.push(bareRelay);
  targets.push(wardenHttp({ label: "HTTP downstream", httpDownstream: true }));
  for (const dir of argValue(argv, "--baseline")?.split(",") ?? [])
    targets.push(wardenHttp({ label: `HTTP downstream, baseline ${dir}`, httpDownstream: true, root: dir }));
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
        const latencies: number[] = [];
        for (let k = 0; k < calls; k++) {
          const t0 = process.hrtime.bigint();
          await conn.echo(text);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        const after = cpuSplit(pid);
        const switchesAfter = contextSwitches(pid);
        const round = {
          p50: median(latencies),
          user: (after.user - before.user) / calls,
          system: (after.system - before.system) / calls,
          wakeups: (switchesAfter.voluntary - switchesBefore.voluntary) / calls,
          preempted: (switchesAfter.involuntary - switchesBefore.involuntary) / calls,
        };
        results[i].push(round);
        process.stderr.write(
          `round ${r} ${targets[i].name}: p50 ${round.p50.toFixed(3)} ms, CPU ${(round.user + round.system).toFixed(3)} ms/call\n`,
        );
      }
    }
    const f = (v: number) => v.toFixed(3);
    const lines = [
      "| target | p50 ms (median of rounds) | p50 per round | CPU ms/call (median) | user | system | wake-ups/call | preempted/call |",
      "|---|---:|---|---:|---:|---:|---:|---:|",
    ];
    for (const [i, t] of targets.entries()) {
      const rs = results[i];
      lines.push(
        `| ${t.name} | ${f(median(rs.map((x) => x.p50)))} | ${rs.map((x) => f(x.p50)).join(" ")} | ${f(median(rs.map((x) => x.user + x.system)))} | ${f(median(rs.map((x) => x.user)))} | ${f(median(rs.map((x) => x.system)))} | ${median(rs.map((x) => x.wakeups)).toFixed(2)} | ${median(rs.map((x) => x.preempted)).toFixed(2)} |`,
      );
    }
    const p50Of = (name: string) => {
      const i = targets.findIndex((t) => t.name === name);
      return i >= 0 ? median(results[i].map((x) => x.p50)) : undefined;
    };
    const direct = p50Of(directHttp.name);
    const relay = p50Of(bareRelay.name);
    const notes: string[] = [];
    for (const t of targets) {
      if (!t.name.startsWith("warden")) continue;
      const w = p50Of(t.name) as number;
      const over = (base: number | undefined, what: string) =>
        base === undefined ? "" : `, ${w - base >= 0 ? "+" : ""}${f(w - base)} ms over ${what}`;
      notes.push(`${t.name}: p50${over(direct, "direct")}${over(relay, "the bare relay")}`);
    }
    if (direct !== undefined && relay !== undefined)
      notes.push(`bare TCP relay: ${relay - direct >= 0 ? "+" : ""}${f(relay - direct)} ms over direct`);
    lines.push("", ...notes);
    process.stdout.write(
      `\n## HTTP hop (c=1, 64 B; ${rounds} rounds × ${calls} calls per target; Node ${process.version}; warden runs ${relative(REPO_ROOT, wardenCli())})\n\n${lines.join("\n")}\n`,
    );
  } finally {
    await Promise.all(connected.map((c) => c.close()));
  }
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`bench:http-hop failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
