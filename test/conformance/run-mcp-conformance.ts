// npm run conformance:mcp [-- --suite active|all|pending] [--scenario NAME] [--isolation shared|per-session]
//                         [--json-response]
//
// Runs the official MCP conformance suite's server scenarios against the fixture server
// directly, then through warden over Streamable HTTP, prints both, and fails if any scenario
// that passes directly fails through warden. The last line is `N passed, N failed` for the
// proxied run.
import { startFixtureHttp } from "../fixtures/servers/child-process.js";
import {
  formatResults,
  regressions,
  runConformanceSuite,
  type ScenarioResult,
  type SuiteOptions,
} from "./conformance-suite.js";
import { startWarden, type WardenTestOptions } from "./warden-under-test.js";

export interface ConformanceReport {
  direct: ScenarioResult[];
  proxied: ScenarioResult[];
  /** Scenarios passing directly but failing through warden. */
  regressions: string[];
  wardenMode: string;
}

export async function runDirectAndProxied(
  suite: SuiteOptions = {},
  warden: WardenTestOptions = {},
): Promise<ConformanceReport> {
  const fixture = await startFixtureHttp();
  let direct: ScenarioResult[];
  try {
    direct = await runConformanceSuite(fixture.url, suite);
  } finally {
    await fixture.stop();
  }
  const proxy = await startWarden(warden);
  let proxied: ScenarioResult[];
  try {
    proxied = await runConformanceSuite(proxy.url, suite);
  } finally {
    await proxy.close();
  }
  return { direct, proxied, regressions: regressions(direct, proxied), wardenMode: proxy.mode };
}

function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const isolation = argValue(argv, "--isolation") ?? "shared";
  if (isolation !== "shared" && isolation !== "per-session")
    throw new Error("--isolation must be shared or per-session");
  const suite = argValue(argv, "--suite") ?? "all";
  if (!["all", "active", "pending"].includes(suite))
    throw new Error("--suite must be all, active or pending");
  const jsonResponse = argv.includes("--json-response");
  const report = await runDirectAndProxied(
    { suite, scenario: argValue(argv, "--scenario") },
    { isolation, jsonResponse },
  );
  const out = process.stdout;
  out.write(`${formatResults("MCP conformance: fixture directly (Streamable HTTP)", report.direct)}\n\n`);
  out.write(
    `${formatResults(`MCP conformance: through warden (${report.wardenMode}, isolation ${isolation}${jsonResponse ? ", JSON responses" : ""})`, report.proxied)}\n\n`,
  );
  if (report.regressions.length)
    out.write(`Pass directly but FAIL through warden: ${report.regressions.join(", ")}\n`);
  else out.write("Every scenario that passes directly passes through warden.\n");
  const passed = report.proxied.filter((r) => r.passed).length;
  out.write(`${passed} passed, ${report.proxied.length - passed} failed\n`);
  return report.regressions.length ? 1 : 0;
}

if (process.argv[1]?.endsWith("run-mcp-conformance.ts")) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`conformance:mcp failed: ${(error as Error).stack ?? error}\n`);
      process.exit(2);
    },
  );
}
