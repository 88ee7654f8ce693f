import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runCheck, runEval, runTestCommand } from "../../src/cli/commands/policy.js";

const run = promisify(execFile);
const fx = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));
const entry = fx("warden-policy.ts");
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));

/** Collects what a command writes. */
function sink() {
  let text = "";
  return {
    stream: {
      write: (s: string) => {
        text += s;
        return true;
      },
    },
    get text() {
      return text;
    },
  };
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tsx, [entry, "policy", ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("warden policy eval", () => {
  it("prints opa eval --format json output: expressions with value/text/location, bindings", () => {
    const out = sink();
    const err = sink();
    const code = runEval(
      "data.authz.allow; x := data.authz.deny",
      { data: [fx("v1")], input: fx("input.json"), format: "json" },
      out.stream,
      err.stream,
    );
    expect(code).toBe(0);
    expect(JSON.parse(out.text)).toEqual({
      result: [
        {
          expressions: [
            { value: true, text: "data.authz.allow", location: { row: 1, col: 1 } },
            { value: true, text: "x := data.authz.deny", location: { row: 1, col: 19 } },
          ],
          bindings: { x: [] },
        },
      ],
    });
  });

  it("an undefined query prints {} and a false expression gives no result", () => {
    const out = sink();
    expect(runEval("data.authz.nope", { data: [fx("v1")], format: "json" }, out.stream, sink().stream)).toBe(
      0,
    );
    expect(out.text.trim()).toBe("{}");
    const out2 = sink();
    runEval("data.authz.allow", { data: [fx("v1")], format: "json" }, out2.stream, sink().stream);
    expect(out2.text.trim()).toBe("{}");
  });

  it("one result row per solution; pretty output is a table", () => {
    const out = sink();
    runEval('x := ["a", "b"][_]', { data: [], format: "json" }, out.stream, sink().stream);
    expect(JSON.parse(out.text).result.map((r: { bindings: { x: string } }) => r.bindings.x)).toEqual([
      "a",
      "b",
    ]);
    const pretty = sink();
    runEval('x := ["a", "b"][_]', { data: [], format: "pretty" }, pretty.stream, sink().stream);
    expect(pretty.text).toContain('| "a" |');
  });

  it("evaluates v0 modules with --v0-compatible", () => {
    const out = sink();
    const code = runEval(
      "data.gateway.deny",
      { data: [fx("v0")], format: "json", v0Compatible: true },
      out.stream,
      sink().stream,
    );
    expect(code).toBe(0);
    expect(JSON.parse(out.text).result[0].expressions[0].value).toEqual([]);
  });

  it("a policy error is reported as JSON errors with file, row and col, exit 1", () => {
    const out = sink();
    const code = runEval("data.broken", { data: [fx("broken")], format: "json" }, out.stream, sink().stream);
    expect(code).toBe(1);
    const errors = JSON.parse(out.text).errors;
    expect(errors[0]).toMatchObject({ code: "rego_parse_error", location: { row: 5, col: 1 } });
    expect(errors[0].location.file).toMatch(/broken\.rego$/);
  });

  it("runs as a real process: exit code, stdout JSON, no stack trace on a bad query", async () => {
    const ok = await cli(["eval", "-d", fx("v1"), "-i", fx("input.json"), "data.authz.allow"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).result[0].expressions[0].value).toBe(true);
    const bad = await cli(["eval", "-f", "pretty", "-d", fx("v1"), "data.authz.allow = "]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/rego_parse_error/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("warden policy test", () => {
  it("passes a v1 suite (with mocking of input and data) and skips todo_ tests", () => {
    const out = sink();
    const code = runTestCommand([fx("v1")], { verbose: true }, out.stream, sink().stream);
    expect(code).toBe(0);
    expect(out.text).toMatch(/data\.authz\.test_alice_reads: PASS \(/);
    expect(out.text).toMatch(/data\.authz\.test_mock_data: PASS/);
    expect(out.text).toMatch(/data\.authz\.todo_test_later: SKIPPED/);
    expect(out.text).toMatch(/^PASS: 4\/5$/m);
    expect(out.text).toMatch(/^SKIPPED: 1\/5$/m);
  });

  it("reports FAIL and ERROR, prints test output, and exits non-zero", () => {
    const out = sink();
    const code = runTestCommand([fx("failing")], {}, out.stream, sink().stream);
    expect(code).not.toBe(0);
    expect(out.text).toMatch(/data\.failing\.test_wrong: FAIL/);
    expect(out.text).not.toMatch(/test_ok/); // non-verbose: only failures are listed
    expect(out.text).toMatch(/^PASS: 1\/3$/m);
    expect(out.text).toMatch(/^FAIL: 2\/3$/m);
    expect(out.text).toContain("about to fail");
  });

  it("--run selects tests by regex", () => {
    const out = sink();
    expect(
      runTestCommand([fx("failing")], { run: "test_ok$", verbose: true }, out.stream, sink().stream),
    ).toBe(0);
    expect(out.text).toMatch(/^PASS: 1\/1$/m);
  });

  it("runs v0 suites with --v0-compatible", () => {
    const out = sink();
    expect(runTestCommand([fx("v0")], { v0Compatible: true, verbose: true }, out.stream, sink().stream)).toBe(
      0,
    );
    expect(out.text).toMatch(/^PASS: 2\/2$/m);
  });

  it("as a process: exit 0 on success, non-zero on failure", async () => {
    expect((await cli(["test", fx("v1")])).code).toBe(0);
    const failed = await cli(["test", "-v", fx("failing")]);
    expect(failed.code).not.toBe(0);
    expect(failed.stdout).toMatch(/FAIL: 2\/3/);
  });
});

describe("warden policy check", () => {
  it("accepts valid policies and reports file:line:col for broken ones", () => {
    expect(runCheck([fx("v1")], {}, sink().stream)).toBe(0);
    const err = sink();
    expect(runCheck([fx("broken")], {}, err.stream)).toBe(1);
    expect(err.text).toMatch(/broken\.rego:5:1: rego_parse_error: /);
  });

  it("reports a missing path without a stack trace", () => {
    const err = sink();
    expect(runCheck(["/nonexistent/policies"], {}, err.stream)).toBe(1);
    expect(err.text).toContain("/nonexistent/policies: no such file or directory");
  });

  it("reports compile errors (unsafe variables) with their location", () => {
    const err = sink();
    expect(runCheck([fx("unsafe")], {}, err.stream)).toBe(1);
    expect(err.text).toMatch(/unsafe\.rego:4:2: rego_unsafe_var_error: var x is unsafe/);
  });
});
