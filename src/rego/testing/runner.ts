// An `opa test`-compatible runner: every rule named `test_*` is a test (in any loaded
// module, as in OPA; by convention they live in *_test.rego files), `todo_test_*` rules
// are skipped. A test passes when its rule evaluates to `true`; undefined or any other
// value fails; an evaluation error is an ERROR.

import { RE2JS } from "re2js";
import { compilePolicy, type Policy, RegoError, type Value } from "../index.js";

const RESULT_VAR = "__warden_test_result";

export type TestStatus = "PASS" | "FAIL" | "ERROR" | "SKIPPED";

export interface TestResult {
  /** data.pkg.test_name */
  name: string;
  file: string;
  line: number;
  status: TestStatus;
  durationNs: bigint;
  /** error text for ERROR, or undefined */
  error?: string;
  /** lines written by print() during the test */
  output: string[];
}

export interface RunOptions {
  /** only run tests whose name (data.pkg.test_x) matches this RE2 pattern */
  run?: string;
  v0Compatible?: boolean;
  /** time.now_ns for every test (defaults to the wall clock per test) */
  nowNs?: bigint;
}

export interface TestModule {
  name: string;
  source: string;
}

function testRules(policy: Policy, prefix: string) {
  return policy.tests(prefix);
}

/** Compiles the modules (throws RegoSyntaxError / RegoCompileError) and runs the tests. */
export function runTests(modules: TestModule[], data: unknown, opts: RunOptions = {}): TestResult[] {
  const policy = compilePolicy({ modules, data, v0Compatible: opts.v0Compatible });
  let filter: RE2JS | undefined;
  if (opts.run !== undefined) filter = RE2JS.compile(opts.run);
  const results: TestResult[] = [];
  for (const t of testRules(policy, "todo_test_")) {
    if (filter && !filter.test(t.path)) continue;
    results.push({ name: t.path, file: t.file, line: t.line, status: "SKIPPED", durationNs: 0n, output: [] });
  }
  for (const t of testRules(policy, "test_")) {
    if (filter && !filter.test(t.path)) continue;
    const output: string[] = [];
    const start = process.hrtime.bigint();
    let status: TestStatus;
    let error: string | undefined;
    try {
      const res = policy
        .prepareQuery(`${RESULT_VAR} = ${t.path}`)
        .eval({ strict: false, nowNs: opts.nowNs, print: (line) => output.push(line) });
      if (res.error) {
        status = "ERROR";
        error = res.error.message;
      } else {
        const values: Value[] = res.results.map((r) => r[RESULT_VAR]);
        status = values.length > 0 && values.every((v) => v === true) ? "PASS" : "FAIL";
      }
    } catch (e) {
      status = "ERROR";
      error = e instanceof RegoError || e instanceof Error ? e.message : String(e);
    }
    results.push({
      name: t.path,
      file: t.file,
      line: t.line,
      status,
      durationNs: process.hrtime.bigint() - start,
      error,
      output,
    });
  }
  // Group by file, then source order, like OPA's report.
  const order = new Map(modules.map((m, i) => [m.name, i]));
  results.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line);
  return results;
}

/** Go's time.Duration.String() style: 1.234ms, 512µs, 2.5s. */
export function formatDuration(ns: bigint): string {
  const n = Number(ns);
  if (n < 1_000) return `${n}ns`;
  if (n < 1_000_000) return `${trim(n / 1_000)}µs`;
  if (n < 1_000_000_000) return `${trim(n / 1_000_000)}ms`;
  return `${trim(n / 1_000_000_000)}s`;
}

function trim(x: number): string {
  return String(Number(x.toFixed(3)));
}

/** The report `opa test` prints; verbose lists every test, otherwise only failures. */
export function formatReport(results: TestResult[], verbose: boolean): string {
  const lines: string[] = [];
  let lastFile: string | undefined;
  const shown = verbose ? results : results.filter((r) => r.status === "FAIL" || r.status === "ERROR");
  for (const r of shown) {
    if (r.file !== lastFile) {
      if (lastFile !== undefined) lines.push("");
      lines.push(`${r.file}:`);
      lastFile = r.file;
    }
    const dur = r.status === "SKIPPED" ? "" : ` (${formatDuration(r.durationNs)})`;
    lines.push(`${r.name}: ${r.status}${dur}`);
    if (r.error) lines.push(`  ${r.error}`);
    if (r.output.length > 0 && (verbose || r.status !== "PASS")) {
      lines.push("");
      for (const o of r.output) lines.push(`  ${o}`);
      lines.push("");
    }
  }
  const total = results.length;
  const count = (s: TestStatus) => results.filter((r) => r.status === s).length;
  if (shown.length > 0) lines.push("-".repeat(80));
  const pass = count("PASS");
  const fail = count("FAIL");
  const err = count("ERROR");
  const skip = count("SKIPPED");
  if (pass > 0) lines.push(`PASS: ${pass}/${total}`);
  if (fail > 0) lines.push(`FAIL: ${fail}/${total}`);
  if (skip > 0) lines.push(`SKIPPED: ${skip}/${total}`);
  if (err > 0) lines.push(`ERROR: ${err}/${total}`);
  return `${lines.join("\n")}\n`;
}
