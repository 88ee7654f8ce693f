// Preloaded into a warden process by `bench:http-hop --gc-count` (node --import): counts its
// garbage collections and their pause time with perf_hooks and rewrites
// $WARDEN_BENCH_GC_DIR/<pid>.json after each batch of GC entries, so the bench can read the
// counts between rounds. Plain JavaScript so it also loads in front of the compiled dist/ CLI.
// (--trace-gc would print to stdout, which is the MCP channel of a stdio warden.)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { constants, PerformanceObserver } from "node:perf_hooks";

const dir = process.env.WARDEN_BENCH_GC_DIR;
if (dir) {
  const file = join(dir, `${process.pid}.json`);
  const counts = { scavenges: 0, scavengeMs: 0, others: 0, otherMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        counts.scavenges++;
        counts.scavengeMs += entry.duration;
      } else {
        counts.others++;
        counts.otherMs += entry.duration;
      }
    }
    writeFileSync(file, JSON.stringify(counts));
  }).observe({ entryTypes: ["gc"] });
}
