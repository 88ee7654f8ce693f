import type { Reporter, TestModule } from "vitest/node";

// Prints one plain closing line, `tests: N passed, N failed, N skipped`, so CI logs state the
// outcome in a runner-neutral form (vitest's own summary is decorated and split over lines).
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      // A module that failed to load (syntax error, failing beforeAll) has no passing tests to show it.
      if (mod.state() === "failed" && !mod.children.size) failed++;
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
