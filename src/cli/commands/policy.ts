// `warden policy eval|test|check`: the `opa eval` / `opa test` loop on the embedded Rego
// engine. Policy mistakes (parse, compile, evaluation errors, unreadable files) are reported
// as `file:line:col: code: message` and a non-zero exit code, never as a stack trace.

import type { Command } from "commander";
import { goJSON } from "../../rego/builtins/encoding.js";
import { compilePolicy, RegoCompileError, RegoError, RegoSyntaxError, type Value } from "../../rego/index.js";
import { type EvalResultRow, evalQuery } from "../../rego/testing/eval.js";
import { LoadError, loadInput, loadPaths } from "../../rego/testing/loader.js";
import { formatReport, runTests } from "../../rego/testing/runner.js";

/** Where a command writes (process.stdout / process.stderr, or a test sink). */
export interface Out {
  write(text: string): unknown;
}

interface ErrorEntry {
  code: string;
  message: string;
  location?: { file: string; row: number; col?: number };
}

/** Turns any error from loading/compiling/evaluating into OPA-style error entries. */
export function policyErrors(e: unknown): ErrorEntry[] {
  if (e instanceof RegoSyntaxError) {
    return [
      { code: "rego_parse_error", message: e.detail, location: { file: e.file, row: e.line, col: e.col } },
    ];
  }
  if (e instanceof RegoCompileError) {
    return e.errors.map((x) => ({
      code: x.code,
      message: x.message,
      location: x.loc ? { file: x.loc.file, row: x.loc.line, col: x.loc.col } : undefined,
    }));
  }
  if (e instanceof RegoError) {
    return [
      {
        code: e.code,
        message: e.detail,
        location: e.loc ? { file: e.loc.file, row: e.loc.line, col: e.loc.col } : undefined,
      },
    ];
  }
  if (e instanceof LoadError) return [{ code: "load_error", message: e.message }];
  return [{ code: "internal_error", message: e instanceof Error ? e.message : String(e) }];
}

export function errorLine(x: ErrorEntry): string {
  const where = x.location
    ? `${x.location.file}:${x.location.row}${x.location.col ? `:${x.location.col}` : ""}: `
    : "";
  return `${where}${x.code}: ${x.message}`;
}

function printErrors(errs: ErrorEntry[], stream: Out): void {
  if (errs.length > 1) stream.write(`${errs.length} errors occurred:\n`);
  for (const e of errs) stream.write(`${errorLine(e)}\n`);
}

// ---- JSON output ----------------------------------------------------------------------

const IND = "  ";

function valueJSON(v: Value, depth: number): string {
  return goJSON(v, "", IND, depth);
}

/** `opa eval --format json` output (field order as OPA prints it). */
export function evalJSON(rows: EvalResultRow[]): string {
  if (rows.length === 0) return "{}";
  const pad = (d: number) => IND.repeat(d);
  const out: string[] = [];
  out.push("{");
  out.push(`${pad(1)}"result": [`);
  rows.forEach((row, ri) => {
    out.push(`${pad(2)}{`);
    out.push(`${pad(3)}"expressions": [`);
    row.expressions.forEach((e, ei) => {
      out.push(`${pad(4)}{`);
      out.push(`${pad(5)}"value": ${valueJSON(e.value, 5)},`);
      out.push(`${pad(5)}"text": ${JSON.stringify(e.text)},`);
      out.push(`${pad(5)}"location": {`);
      out.push(`${pad(6)}"row": ${e.location.row},`);
      out.push(`${pad(6)}"col": ${e.location.col}`);
      out.push(`${pad(5)}}`);
      out.push(`${pad(4)}}${ei < row.expressions.length - 1 ? "," : ""}`);
    });
    const names = Object.keys(row.bindings).sort();
    if (names.length > 0) {
      out.push(`${pad(3)}],`);
      out.push(`${pad(3)}"bindings": {`);
      names.forEach((n, i) => {
        out.push(
          `${pad(4)}${JSON.stringify(n)}: ${valueJSON(row.bindings[n], 4)}${i < names.length - 1 ? "," : ""}`,
        );
      });
      out.push(`${pad(3)}}`);
    } else out.push(`${pad(3)}]`);
    out.push(`${pad(2)}}${ri < rows.length - 1 ? "," : ""}`);
  });
  out.push(`${pad(1)}]`);
  out.push("}");
  return out.join("\n");
}

/** Human output: values for binding-free queries, a table of bindings otherwise. */
export function evalPretty(rows: EvalResultRow[]): string {
  if (rows.length === 0) return "undefined";
  const names = [...new Set(rows.flatMap((r) => Object.keys(r.bindings)))].sort();
  if (names.length === 0) {
    return rows.map((r) => r.expressions.map((e) => valueJSON(e.value, 0)).join("\n")).join("\n");
  }
  const cells = rows.map((r) => names.map((n) => (r.bindings[n] === undefined ? "" : goJSON(r.bindings[n]))));
  const widths = names.map((n, i) => Math.max(n.length, ...cells.map((c) => c[i].length)));
  const rule = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(" | ")} |`;
  return [rule, line(names), rule, ...cells.map(line), rule].join("\n");
}

// ---- commands -------------------------------------------------------------------------

interface EvalFlags {
  data: string[];
  input?: string;
  v0Compatible?: boolean;
  format: string;
  strictBuiltinErrors?: boolean;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function runEval(
  query: string,
  flags: EvalFlags,
  out: Out = process.stdout,
  err: Out = process.stderr,
): number {
  if (flags.format !== "json" && flags.format !== "pretty") {
    err.write(`unknown --format ${JSON.stringify(flags.format)} (use json or pretty)\n`);
    return 2;
  }
  try {
    const files = loadPaths(flags.data);
    const input = flags.input !== undefined ? loadInput(flags.input) : undefined;
    const policy = compilePolicy({
      modules: files.modules,
      data: files.data,
      v0Compatible: flags.v0Compatible,
    });
    const prints: string[] = [];
    const rows = evalQuery(policy, query, {
      input,
      strict: !!flags.strictBuiltinErrors,
      print: (l) => prints.push(l),
    });
    for (const p of prints) err.write(`${p}\n`);
    out.write(`${flags.format === "json" ? evalJSON(rows) : evalPretty(rows)}\n`);
    return 0;
  } catch (e) {
    const errs = policyErrors(e);
    if (flags.format === "json") {
      const list = errs.map((x) => {
        const loc = x.location
          ? `,\n      "location": {\n        "file": ${JSON.stringify(x.location.file)},\n        "row": ${x.location.row},\n        "col": ${x.location.col ?? 0}\n      }`
          : "";
        return `    {\n      "message": ${JSON.stringify(x.message)},\n      "code": ${JSON.stringify(x.code)}${loc}\n    }`;
      });
      out.write(`{\n  "errors": [\n${list.join(",\n")}\n  ]\n}\n`);
    } else printErrors(errs, err);
    return 1;
  }
}

interface TestFlags {
  verbose?: boolean;
  run?: string;
  v0Compatible?: boolean;
}

export function runTestCommand(
  paths: string[],
  flags: TestFlags,
  out: Out = process.stdout,
  err: Out = process.stderr,
): number {
  try {
    const files = loadPaths(paths);
    const results = runTests(files.modules, files.data, { run: flags.run, v0Compatible: flags.v0Compatible });
    if (results.length === 0) {
      err.write("no test cases found\n");
      return 2;
    }
    out.write(formatReport(results, !!flags.verbose));
    return results.every((r) => r.status === "PASS" || r.status === "SKIPPED") ? 0 : 2;
  } catch (e) {
    printErrors(policyErrors(e), err);
    return 1;
  }
}

export function runCheck(
  paths: string[],
  flags: { v0Compatible?: boolean },
  err: Out = process.stderr,
): number {
  try {
    const files = loadPaths(paths);
    compilePolicy({ modules: files.modules, data: files.data, v0Compatible: flags.v0Compatible });
    return 0;
  } catch (e) {
    printErrors(policyErrors(e), err);
    return 1;
  }
}

export function register(program: Command): void {
  const policy = program
    .command("policy")
    .description("evaluate, test and check Rego policies (like opa eval/test/check)");

  policy
    .command("eval")
    .description("evaluate a Rego query (output compatible with `opa eval --format json`)")
    .argument("<query>", "Rego query, e.g. data.authz.allow")
    .option("-d, --data <path>", "policy or data file/directory (repeatable)", collect, [])
    .option("-i, --input <file>", "input document (JSON or YAML; - for stdin)")
    .option("--v0-compatible", "parse modules as Rego v0 (OPA 0.x syntax)")
    .option("--strict-builtin-errors", "report builtin errors instead of treating the call as undefined")
    .option("-f, --format <format>", "json or pretty", "json")
    .action((query: string, flags: EvalFlags) => {
      process.exitCode = runEval(query, flags);
    });

  policy
    .command("test")
    .description("run test_* rules like `opa test` (PASS/FAIL per test, non-zero exit on failure)")
    .argument("<paths...>", "policy files or directories")
    .option("-v, --verbose", "list every test, not only failures")
    .option("-r, --run <regex>", "only run tests whose name (data.pkg.test_x) matches")
    .option("--v0-compatible", "parse modules as Rego v0 (OPA 0.x syntax)")
    .action((paths: string[], flags: TestFlags) => {
      process.exitCode = runTestCommand(paths, flags);
    });

  policy
    .command("check")
    .description("parse and compile policies; errors as file:line:col")
    .argument("<paths...>", "policy files or directories")
    .option("--v0-compatible", "parse modules as Rego v0 (OPA 0.x syntax)")
    .action((paths: string[], flags: { v0Compatible?: boolean }) => {
      process.exitCode = runCheck(paths, flags);
    });
}
