// The floor of a stdio hop: a Node process that spawns the command after `--` and only pipes
// bytes (stdin → child stdin, child stdout → stdout), no framing, no parsing. Whatever a stdio
// proxy adds above this row is the proxy's own cost; this row's delta over direct stdio is the
// cost of the extra process and pipes themselves.
import { spawn } from "node:child_process";

const sep = process.argv.indexOf("--");
const [command, ...args] = sep >= 0 ? process.argv.slice(sep + 1) : [];
if (!command) {
  process.stderr.write("usage: bare-pipe.ts -- COMMAND [ARGS...]\n");
  process.exit(2);
}
const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
child.stdin.on("error", () => {});
child.once("exit", (code) => process.exit(code ?? 0));
process.stdin.once("end", () => child.stdin.end());
