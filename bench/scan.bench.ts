// Scores the scanners on the labelled dev set (recall / false-positive rate per task, kind and
// subtype family, each detector on its own `task` rows) and measures throughput on benign text.
// Usage: tsx bench/scan.bench.ts [path/to/scanner-dev (dir or dev.jsonl)] [--split] [--against=DIR]
// Default: ../shared/scanner-dev beside the repository (beside the main checkout, from a git worktree).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { scanConfigSchema } from "../src/scan/config.js";
import { clearPhoneCache } from "../src/scan/detectors/pii.js";
import { scanText } from "../src/scan/scanner.js";
import type { TextKind } from "../src/scan/types.js";

interface Row {
  text: string;
  label: string;
  kind: TextKind;
  task: "injection" | "secrets" | "pii";
  subtype: string;
}

const args = process.argv.slice(2);
const split = args.includes("--split");
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
let path = args.find((a) => !a.startsWith("--")) ?? defaultDevSet();
if (statSync(path).isDirectory()) path = join(path, "dev.jsonl");
/**
 * `../shared/scanner-dev` next to the repository. From a git worktree elsewhere, next to the main
 * checkout instead (the directory holding the git common dir).
 */
function defaultDevSet(): string {
  const beside = join(repo, "../shared/scanner-dev");
  if (existsSync(beside)) return beside;
  try {
    const common = execFileSync("git", ["rev-parse", "--path-format=absolute", "--git-common-dir"], {
      cwd: repo,
      encoding: "utf8",
    }).trim();
    return join(dirname(common), "../shared/scanner-dev");
  } catch {
    return beside; // not a git checkout: report the path next to the repository as missing
  }
}
const rows: Row[] = readFileSync(path, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));

const family = (subtype: string) => subtype.split("/").slice(0, 2).join("/");
type Tally = { flagged: number; total: number };
const tallies = new Map<string, Tally>();
const count = (key: string, flagged: boolean) => {
  const t = tallies.get(key) ?? { flagged: 0, total: 0 };
  t.flagged += flagged ? 1 : 0;
  t.total++;
  tallies.set(key, t);
};

const detectorOf = { injection: "injection", secrets: "secrets", pii: "pii" } as const;
rows.forEach((row, i) => {
  const hits = scanText(row.text, row.kind);
  const flagged = hits.some((h) => h.detector === detectorOf[row.task]);
  const positive = row.label !== "benign";
  const metric = positive ? "recall" : "fpr";
  const halves = split ? ["all", i % 2 === 0 ? "half-A" : "half-B"] : ["all"];
  for (const h of halves) {
    count(`${h}|${row.task}|${metric}|${row.kind}|*`, flagged);
    count(`${h}|${row.task}|${metric}|*|*`, flagged);
    if (h === "all") count(`${h}|${row.task}|${metric}|${row.kind}|${family(row.subtype)}`, flagged);
  }
});

const pct = (t: Tally) =>
  `${((100 * t.flagged) / t.total).toFixed(1).padStart(5)}% (${t.flagged}/${t.total})`;
console.log(`dev set: ${path} (${rows.length} rows)\n`);
console.log("split   task       metric kind         family                               value");
for (const key of [...tallies.keys()].sort()) {
  const [h, task, metric, kind, fam] = key.split("|");
  console.log(
    `${h.padEnd(7)} ${task.padEnd(10)} ${metric.padEnd(6)} ${kind.padEnd(12)} ${fam.padEnd(36)} ${pct(tallies.get(key) as Tally)}`,
  );
}

// Throughput on benign text, scanned as tool output in 4 KiB strings (the size of a typical tool
// result block). Each timed pass scans every benign row once (concatenated, cut into disjoint 4 KiB
// strings, no text repeated within a pass) and starts with the scanner's caches cleared, so a cache
// keyed on text (phone verdicts) cannot hit across passes and inflate the figure. Baseline:
// String#toLowerCase on the same strings, measured in the same run, so the ratio is comparable
// across machines. The figure is the median over passes.
// Each piece is made the way the scanner receives text: out of JSON.parse of a tool result. A bare
// slice of the concatenation would share its representation, so a piece holding only Latin-1
// characters would still be a two-byte string because some other row holds an en dash; V8 then
// takes its slower two-byte paths (lower-casing, regexps, charCodeAt) for text that never has them.
const benign = rows
  .filter((r) => r.label === "benign")
  .map((r) => r.text)
  .join("\n");
const corpus: string[] = [];
let bytes = 0;
let latin1Pieces = 0;
for (let off = 0; off < benign.length; off += 4096) {
  const chunk = JSON.parse(JSON.stringify(benign.slice(off, off + 4096))) as string;
  corpus.push(chunk);
  bytes += Buffer.byteLength(chunk);
  if (!/[\u0100-\uffff]/.test(chunk)) latin1Pieces++;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Wall time and CPU time of this process: on a loaded machine (shared cores) CPU time is the
// figure that reflects the code; on an idle one both agree.
// A timed pass goes over the corpus `reps` times (enough CPU time for the clock's granularity),
// clearing the scanner's caches before each repetition (a negligible cost).
const time = (fn: (s: string) => unknown, reps: number) => {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) {
    clearPhoneCache();
    for (const s of corpus) fn(s);
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9 / reps;
  const cpu = process.cpuUsage(c0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 / reps };
};
// Warm-up: at least 2 s of passes, so V8 has optimised the hot functions (background compilation
// shows as CPU time above wall time) and the one-time tables are built before anything is timed.
for (const until = Date.now() + 2000; Date.now() < until; ) time((s) => scanText(s, "tool_output"), 1);
const runs = 9;
const scan: Array<{ wall: number; cpu: number }> = [];
const base: Array<{ wall: number; cpu: number }> = [];
for (let i = 0; i < runs; i++) {
  base.push(time((s) => s.toLowerCase(), 40));
  scan.push(time((s) => scanText(s, "tool_output"), 4));
}
const mb = bytes / 1e6;
const rate = (xs: Array<{ wall: number; cpu: number }>, k: "wall" | "cpu") =>
  mb / median(xs.map((x) => x[k]));
console.log(
  `\nthroughput on benign text (${mb.toFixed(2)} MB in ${corpus.length} disjoint strings from JSON.parse, ${latin1Pieces} of them Latin-1 only; caches cleared before each, median of ${runs} timed passes):`,
);
console.log("                                          wall MB/s   cpu MB/s");
console.log(
  `  scanText (all detectors, tool_output)   ${rate(scan, "wall").toFixed(1).padStart(8)}   ${rate(scan, "cpu").toFixed(1).padStart(8)}`,
);
console.log(
  `  baseline String#toLowerCase             ${rate(base, "wall").toFixed(1).padStart(8)}   ${rate(base, "cpu").toFixed(1).padStart(8)}`,
);
console.log(
  `  ratio scan/baseline                     ${(rate(scan, "wall") / rate(base, "wall")).toFixed(4).padStart(8)}   ${(rate(scan, "cpu") / rate(base, "cpu")).toFixed(4).padStart(8)}`,
);

// Per-detector breakdown: scanText with one detector enabled (same corpus, same method), and with
// none (the per-string work every scan does: the token runs). Each figure includes that shared
// work, so a detector's own cost is its time minus the "none" time; the work only one detector
// needs counts as its own (lower-casing for injection, digit spans for PII). All detectors run in
// the same rounds, so that what "all" costs beyond its parts (detectors slowing each other, e.g.
// by cache pressure) can be computed per round: all - injection - secrets - PII + 2 x none.
const only = (name: "injection" | "secrets" | "pii" | "none" | "all") =>
  scanConfigSchema.parse({
    detectors: {
      injection: { enabled: name === "injection" || name === "all" },
      secrets: { enabled: name === "secrets" || name === "all" },
      pii: { enabled: name === "pii" || name === "all" },
    },
  });
const parts = (["injection", "secrets", "pii", "none", "all"] as const).map((name) => ({
  name,
  config: only(name),
  samples: [] as Array<{ wall: number; cpu: number }>,
}));
for (const p of parts) time((s) => scanText(s, "tool_output", p.config), 2); // warm-up
for (let i = 0; i < runs; i++)
  for (const p of parts) p.samples.push(time((s) => scanText(s, "tool_output", p.config), 4));
const ms = (xs: Array<{ wall: number; cpu: number }>) => 1000 * median(xs.map((x) => x.cpu));
console.log(
  `\nper detector (scanText with one detector, none or all enabled, in the same rounds, median of ${runs} timed passes):`,
);
console.log("                                          wall MB/s   cpu MB/s   cpu ms/pass");
for (const p of parts) {
  const label =
    p.name === "none"
      ? "none (token runs)"
      : p.name === "all"
        ? "all detectors (same rounds)"
        : `only ${p.name}`;
  console.log(
    `  ${label.padEnd(38)}  ${rate(p.samples, "wall").toFixed(1).padStart(8)}   ${rate(p.samples, "cpu").toFixed(1).padStart(8)}   ${ms(p.samples).toFixed(2).padStart(11)}`,
  );
}
const cpuOf = (name: (typeof parts)[number]["name"]) =>
  (parts.find((p) => p.name === name) as (typeof parts)[number]).samples.map((x) => x.cpu);
const [allCpu, injCpu, secCpu, piiCpu, noneCpu] = (
  ["all", "injection", "secrets", "pii", "none"] as const
).map(cpuOf);
const gaps = allCpu.map((all, i) => all - injCpu[i] - secCpu[i] - piiCpu[i] + 2 * noneCpu[i]);
console.log(
  `  all beyond its parts (all - injection - secrets - pii + 2 x none, per round, median): ${(1000 * median(gaps)).toFixed(2)} ms`,
);

// --against=DIR: this tree's scanText and the one of another checkout (e.g. a worktree of main) in
// alternate passes of one process, per configuration. The machine's load hits both sides alike,
// so the median of the paired differences is steadier than comparing two separate runs.
const against = args.find((a) => a.startsWith("--against="))?.slice("--against=".length);
if (against) {
  const other = resolve(against);
  const otherScanner = await import(join(other, "src/scan/scanner.ts"));
  const otherConfig = await import(join(other, "src/scan/config.ts"));
  const otherPii = await import(join(other, "src/scan/detectors/pii.ts"));
  const sides = [
    { name: "this", scanText, parse: scanConfigSchema.parse, clear: clearPhoneCache },
    {
      name: "other",
      scanText: otherScanner.scanText as typeof scanText,
      parse: otherConfig.scanConfigSchema.parse as typeof scanConfigSchema.parse,
      clear: (otherPii.clearPhoneCache ?? (() => {})) as () => void,
    },
  ];
  const cpuPass = (side: (typeof sides)[number], config: unknown, reps: number) => {
    const c0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) {
      side.clear();
      for (const s of corpus) side.scanText(s, "tool_output", config as never);
    }
    const cpu = process.cpuUsage(c0);
    return (cpu.user + cpu.system) / 1e3 / reps;
  };
  const rounds = 31;
  console.log(
    `\nA/B in one process against ${other} (CPU ms per pass, median of ${rounds} alternate passes):`,
  );
  console.log("  configuration      other    this    median(this - other)");
  for (const name of ["none", "secrets", "pii", "injection", "all"] as const) {
    const enabled = (d: string) => name === "all" || name === d;
    const detectors = {
      injection: { enabled: enabled("injection") },
      secrets: { enabled: enabled("secrets") },
      pii: { enabled: enabled("pii") },
    };
    const configs = sides.map((side) => side.parse({ detectors }));
    for (let i = 0; i < 3; i++) for (const k of [0, 1]) cpuPass(sides[k], configs[k], 2); // warm-up
    const ms: number[][] = [[], []];
    for (let i = 0; i < rounds; i++) {
      // Alternate which side goes first.
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const k of order) ms[k].push(cpuPass(sides[k], configs[k], 4));
    }
    const diff = median(ms[0].map((x, i) => x - ms[1][i]));
    console.log(
      `  ${name.padEnd(16)} ${median(ms[1]).toFixed(2).padStart(7)} ${median(ms[0]).toFixed(2).padStart(7)} ${diff.toFixed(2).padStart(10)}`,
    );
  }
}
