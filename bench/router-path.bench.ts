// npm run bench:router-path [-- --baseline DIR] [--rounds 10] [--calls 40000] [--warmup 20000]
//
// Warden's own per-call JavaScript on the proxy path, without sockets or other processes: the
// stages `warden serve` installs, Router, Pipeline and UpstreamConnection of a checkout's compiled
// dist/, driven c=1 by raw tools/call requests through a fake downstream wire that answers on the
// next macrotask (bench/lib/router-path-child.ts). Each round runs one fresh process per checkout,
// alternating, and reports CPU µs per call (process.cpuUsage over `--calls` calls after
// `--warmup` calls); medians over rounds are printed last. End-to-end figures (wake-ups, socket
// calls, the HTTP front door) come from bench:http-hop and bench:proxy; this one resolves the
// few-µs changes those cannot.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "../test/fixtures/servers/child-process.js";
import { median } from "./lib/stats.js";

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

function count(argv: string[], flag: string, fallback: number): number {
  const v = Number(argValue(argv, flag) ?? fallback);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${flag} takes a positive whole number`);
  return v;
}

interface Sample {
  cpuUsPerCall: number;
  wallUsPerCall: number;
}

function main(argv: string[]): void {
  const rounds = count(argv, "--rounds", 10);
  const calls = count(argv, "--calls", 40_000);
  const warmup = count(argv, "--warmup", 20_000);
  const roots = [REPO_ROOT, ...(argValue(argv, "--baseline")?.split(",") ?? []).map((d) => resolve(d))];
  // tsx transforms only the child (TypeScript): the checkouts' dist/ JavaScript runs as compiled.
  const child = join(REPO_ROOT, "bench/lib/router-path-child.ts");
  const results = roots.map((): Sample[] => []);
  for (let r = 1; r <= rounds; r++) {
    for (const [i, root] of roots.entries()) {
      const args = ["--import", "tsx", child, root, String(warmup), String(calls)];
      const out = spawnSync(process.execPath, args, { encoding: "utf8", cwd: REPO_ROOT });
      if (out.status !== 0) throw new Error(`child for ${root} failed:\n${out.stderr}`);
      const sample = JSON.parse(out.stdout.trim().split("\n").pop() as string) as Sample;
      results[i].push(sample);
      process.stderr.write(
        `round ${r} ${root}: CPU ${sample.cpuUsPerCall.toFixed(2)} µs/call, wall ${sample.wallUsPerCall.toFixed(2)} µs/call\n`,
      );
    }
  }
  const f = (v: number) => v.toFixed(2);
  const lines = [
    "| checkout | CPU µs/call (median) | per round | wall µs/call (median) |",
    "|---|---:|---|---:|",
  ];
  for (const [i, root] of roots.entries()) {
    const rs = results[i];
    lines.push(
      `| ${root} | ${f(median(rs.map((x) => x.cpuUsPerCall)))} | ${rs.map((x) => f(x.cpuUsPerCall)).join(" ")} | ${f(median(rs.map((x) => x.wallUsPerCall)))} |`,
    );
  }
  process.stdout.write(
    `\n## Router path (in process, c=1, 64 B; ${rounds} rounds × ${calls} calls after ${warmup}; Node ${process.version})\n\n${lines.join("\n")}\n`,
  );
}

main(process.argv.slice(2));
