// `warden scan`: runs the scanners over text from a file or stdin, or over a JSONL file of
// {"text", "kind"} lines (one JSON result line per input line, in order).
import { createReadStream, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { parseScanConfig, resolveScanConfig, type ScanConfig } from "../../scan/config.js";
import { registerScanPlugin } from "../../scan/plugin.js";
import { scanText } from "../../scan/scanner.js";
import type { DetectorHit, TextKind } from "../../scan/types.js";

const KINDS = ["argument", "tool_output"] as const;

interface ScanOpts {
  kind: string;
  jsonl?: string;
  config?: string;
  env?: string;
  exitCode?: boolean;
}

export interface ScanSummary {
  injection: boolean;
  secrets: boolean;
  pii: boolean;
  findings: Array<Omit<DetectorHit, "start" | "end"> & { location: string; start?: number; end?: number }>;
}

/** Scans one text and summarises it the way `warden scan` prints it. */
export function summarize(text: string, kind: TextKind, config?: ScanConfig): ScanSummary {
  const hits = scanText(text, kind, config);
  return {
    injection: hits.some((h) => h.detector === "injection"),
    secrets: hits.some((h) => h.detector === "secrets"),
    pii: hits.some((h) => h.detector === "pii"),
    findings: hits.map((h) => ({ ...h, location: "" })),
  };
}

function loadConfig(path: string | undefined, env: string | undefined): ScanConfig {
  if (!path) return resolveScanConfig(parseScanConfig({}), env);
  const doc = parseYaml(readFileSync(path, "utf8")) as Record<string, unknown> | null;
  // Either a whole warden.yaml (with a `scan:` section) or a bare scan section.
  const section = doc && typeof doc === "object" && "scan" in doc ? doc.scan : doc;
  return resolveScanConfig(parseScanConfig(section ?? {}), env);
}

function checkKind(kind: unknown): TextKind {
  if (!KINDS.includes(kind as (typeof KINDS)[number])) {
    throw new Error(`invalid kind ${JSON.stringify(kind)}: expected ${KINDS.join(" or ")}`);
  }
  return kind as TextKind;
}

async function scanJsonl(path: string, defaultKind: TextKind, config: ScanConfig): Promise<boolean> {
  const input = path === "-" ? process.stdin : createReadStream(path, "utf8");
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  let ok = true;
  let found = false;
  for await (const line of lines) {
    lineNo++;
    let out: unknown;
    try {
      const row = JSON.parse(line) as { text?: unknown; kind?: unknown };
      if (row === null || typeof row !== "object" || typeof row.text !== "string") {
        throw new Error('expected an object with a string "text"');
      }
      const summary = summarize(row.text, checkKind(row.kind ?? defaultKind), config);
      found ||= summary.injection || summary.secrets || summary.pii;
      out = summary;
    } catch (e) {
      ok = false;
      out = { error: `line ${lineNo}: ${(e as Error).message}` };
    }
    if (!process.stdout.write(`${JSON.stringify(out)}\n`)) {
      await new Promise((resolve) => process.stdout.once("drain", resolve));
    }
  }
  if (!ok) process.exitCode = 2;
  return found;
}

export function register(program: Command): void {
  // `warden serve` picks the scan stage up from the plugin registry.
  registerScanPlugin();
  program
    .command("scan")
    .description("scan text for prompt injection, secrets and PII")
    .argument("[file]", "text file to scan, or - for stdin", "-")
    .option("-k, --kind <kind>", "what the text is: argument (sent to a tool) or tool_output", "tool_output")
    .option(
      "--jsonl <file>",
      'read JSON lines {"text": ..., "kind": ...} and print one result line per input line',
    )
    .option("-c, --config <file>", "warden.yaml (its scan: section) or a scan config file")
    .option("-e, --env <name>", "environment whose scan overrides apply")
    .option("--exit-code", "exit with status 1 when something is found")
    .action(async (file: string, opts: ScanOpts) => {
      try {
        const kind = checkKind(opts.kind);
        const config = loadConfig(opts.config, opts.env);
        let found: boolean;
        if (opts.jsonl) {
          found = await scanJsonl(opts.jsonl, kind, config);
        } else {
          const text = readFileSync(file === "-" ? 0 : file, "utf8");
          const summary = summarize(text, kind, config);
          found = summary.injection || summary.secrets || summary.pii;
          process.stdout.write(`${JSON.stringify({ kind, ...summary }, null, 2)}\n`);
        }
        if (found && opts.exitCode && !process.exitCode) process.exitCode = 1;
      } catch (e) {
        process.stderr.write(`warden scan: ${(e as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}
