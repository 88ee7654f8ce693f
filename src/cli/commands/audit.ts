// `warden audit verify <file...>` and `warden audit tail [file]`.
import type { Command } from "commander";
import { parseFilter, tailLedger } from "../../audit/tail.js";
import { verifyLedger } from "../../audit/verify.js";
import { registerGovernancePlugins } from "../../policy/plugin.js";

export const DEFAULT_AUDIT_FILE = "data/audit.jsonl";

export function register(program: Command): void {
  // Policy, audit and metrics plug into `warden serve` (config sections policy/audit/metrics).
  registerGovernancePlugins();
  const audit = program.command("audit").description("inspect and verify the hash-chained audit ledger");

  audit
    .command("verify")
    .description("check hashes, chain and sequence; reports the first altered, missing or reordered record")
    .argument("<file...>", "ledger files (rotated files too, in any order)")
    .option("--json", "print the result as JSON")
    .action(async (files: string[], o: { json?: boolean }) => {
      let result: Awaited<ReturnType<typeof verifyLedger>>;
      try {
        result = await verifyLedger(files);
      } catch (err) {
        process.stderr.write(`warden audit verify: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      if (o.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (result.ok) {
        const range = result.records > 0 ? `seq ${result.firstSeq}..${result.lastSeq}` : "empty";
        const anchor = result.anchored ? "from genesis" : "anchored on an earlier file not given";
        process.stdout.write(
          `OK: ${result.records} records (${range}, ${anchor}) in ${result.files.length} file(s); head ${result.headHash ?? "-"}\n`,
        );
      } else {
        process.stdout.write(
          `FAILED (${result.problem?.kind}): ${result.problem?.message}\n${result.records} records verified before it.\n`,
        );
      }
      if (!result.ok) process.exitCode = 1;
    });

  audit
    .command("tail")
    .description("show the latest records for people; -f follows new ones")
    .argument("[file]", "ledger file", DEFAULT_AUDIT_FILE)
    .option("-n, --lines <n>", "records to show", "20")
    .option("-f, --follow", "keep printing records as they are written")
    .option(
      "--filter <key=value>",
      "only records where key matches (repeatable; * wildcards; user, tenant, team, mode, version shortcuts)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--json", "print raw JSON lines")
    .action(
      async (file: string, o: { lines: string; follow?: boolean; filter: string[]; json?: boolean }) => {
        const n = Number(o.lines);
        if (!Number.isInteger(n) || n < 0) {
          process.stderr.write("warden audit tail: --lines must be a non-negative integer\n");
          process.exitCode = 2;
          return;
        }
        try {
          const filters = o.filter.map(parseFilter);
          const ac = new AbortController();
          process.once("SIGINT", () => ac.abort());
          await tailLedger(file, {
            lines: n,
            filters,
            json: !!o.json,
            follow: !!o.follow,
            signal: ac.signal,
            write: (l) => process.stdout.write(`${l}\n`),
          });
        } catch (err) {
          process.stderr.write(`warden audit tail: ${(err as Error).message}\n`);
          process.exitCode = 2;
        }
      },
    );
}
