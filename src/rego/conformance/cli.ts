// npm run conformance:rego -- <dir> [--json FILE] [--verbose]
// Runs every OPA conformance YAML case under <dir>; prints failures grouped by category,
// per-class pass rates (from manifest.json when present) and `N passed, N failed`.

import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { type CaseResult, runSuite, summarize } from "./runner.js";

function main(argv: string[]): number {
  let dir: string | undefined;
  let json: string | undefined;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") json = argv[++i];
    else if (a === "--quiet") quiet = true;
    else if (a === "-h" || a === "--help") {
      process.stdout.write("usage: conformance:rego -- <dir> [--json FILE] [--quiet]\n");
      return 0;
    } else if (!dir) dir = a;
    else {
      process.stderr.write(`unexpected argument ${a}\n`);
      return 2;
    }
  }
  if (!dir) {
    process.stderr.write("usage: conformance:rego -- <dir> [--json FILE] [--quiet]\n");
    return 2;
  }
  const root = resolve(dir);
  let results: CaseResult[];
  try {
    results = runSuite(root);
  } catch (e) {
    process.stderr.write(`cannot read cases under ${dir}: ${(e as Error).message}\n`);
    return 2;
  }
  const byCat = new Map<string, CaseResult[]>();
  for (const r of results) if (!r.pass) byCat.set(r.category, [...(byCat.get(r.category) ?? []), r]);
  if (!quiet) {
    for (const [cat, fails] of [...byCat].sort((a, b) => a[0].localeCompare(b[0]))) {
      process.stdout.write(`\n== ${cat} (${fails.length} failed)\n`);
      for (const f of fails)
        process.stdout.write(
          `  ${f.file}#${f.index} ${f.note}\n    ${(f.reason ?? "").split("\n")[0].slice(0, 400)}\n`,
        );
    }
  }
  const sum = summarize(results);
  process.stdout.write("\n");
  for (const [cls, s] of Object.entries(sum)) {
    if (cls === "all") continue;
    process.stdout.write(
      `class ${cls}: ${s.passed}/${s.total} (${((100 * s.passed) / Math.max(1, s.total)).toFixed(1)}%)\n`,
    );
  }
  if (json) writeFileSync(json, `${JSON.stringify({ summary: sum, results }, null, 2)}\n`);
  const passed = sum.all.passed;
  process.stdout.write(`${passed} passed, ${sum.all.total - passed} failed\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
