import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/support/summary-reporter.js";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Generous: integration tests start real processes, and a loaded 2-core machine can be slow to.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests spawn real MCP servers; keep the 2-core CI machine from thrashing.
    maxWorkers: 2,
    pool: "forks",
    reporters: ["default", new SummaryReporter()],
  },
});
