// The conformance CLI runs any directory of OPA-style YAML cases and ends with `N passed, N failed`.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "rego-cases-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run conformance:rego", () => {
  it("reports failures by category, per-case JSON and the final count", async () => {
    mkdirSync(join(dir, "demo"));
    writeFileSync(
      join(dir, "demo", "cases.yaml"),
      `cases:
  - note: demo/pass
    modules:
      - |
        package t
        p := 18446744073709551614
    query: data.t.p = x
    want_result:
      - x: 18446744073709551614
  - note: demo/fail
    query: x = 2
    want_result:
      - x: 1
  - note: demo/conflict
    modules:
      - |
        package t
        q := 1
        q := 2
    query: data.t.q = x
    want_error_code: eval_conflict_error
    want_error: complete rules must not produce multiple outputs
`,
    );
    const json = join(dir, "out.json");
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "src/rego/conformance/cli.ts", dir, "--json", json],
      {
        cwd: join(import.meta.dirname, "../.."),
      },
    );
    const lines = stdout.trim().split("\n");
    expect(lines[lines.length - 1]).toBe("2 passed, 1 failed");
    expect(stdout).toContain("== demo (1 failed)");
    expect(stdout).toContain("demo/fail");
    const report = JSON.parse(readFileSync(json, "utf8"));
    expect(report.results.map((r: { note: string; pass: boolean }) => [r.note, r.pass])).toEqual([
      ["demo/pass", true],
      ["demo/fail", false],
      ["demo/conflict", true],
    ]);
  });
});
