import { defineConfig } from "vitest/config";
import SummaryReporter from "./test/support/summary-reporter.js";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests spawn real MCP servers; keep the 2-core CI machine from thrashing.
    maxWorkers: 2,
    pool: "forks",
    reporters: ["default", new SummaryReporter()],
  },
});
