import { Command } from "commander";

/** The registration function every module under ./commands exports. */
type Register = (program: Command) => void;

/**
 * The subcommands, in the order their help lists them: how the root help shows each (its term
 * and description) and the module that defines and runs it. Importing a module pulls in its
 * area (the Rego engine, the proxy, the sandbox...), so the root program (`--version`, `--help`)
 * imports none; test/support/smoke.test.ts checks that its help equals the full program's.
 */
const SUBCOMMANDS: ReadonlyArray<{
  term: string;
  description: string;
  load: () => Promise<{ register: Register }>;
}> = [
  {
    term: "keys",
    description: "manage API keys for the HTTP front door and admin API",
    load: () => import("./commands/keys.js"),
  },
  {
    term: "policy",
    description: "evaluate, test and check Rego policies (like opa eval/test/check)",
    load: () => import("./commands/policy.js"),
  },
  {
    term: "approvals",
    description: "list and decide pending approvals of a running warden",
    load: () => import("./commands/approvals.js"),
  },
  {
    term: "sandbox",
    description: "WASI code tools: run_javascript, run_python, user .wasm tools",
    load: () => import("./commands/sandbox.js"),
  },
  {
    term: "serve [options]",
    description: "run the proxy: stdio by default, --http for Streamable HTTP (/mcp) and legacy SSE (/sse)",
    load: () => import("./commands/serve.js"),
  },
  { term: "config", description: "inspect warden.yaml", load: () => import("./commands/config.js") },
  {
    term: "audit",
    description: "inspect and verify the hash-chained audit ledger",
    load: () => import("./commands/audit.js"),
  },
  {
    term: "scan [options] [file]",
    description: "scan text for prompt injection, secrets and PII",
    load: () => import("./commands/scan.js"),
  },
  {
    term: "tools",
    description: "pinned tool definitions (rug-pull protection)",
    load: () => import("./commands/tools.js"),
  },
];

const nameOf = (term: string) => term.split(" ", 1)[0];
const NAMES = new Set(SUBCOMMANDS.map((s) => nameOf(s.term)));

function root(): Command {
  return new Command("warden")
    .description("mcp-warden: a governance proxy for the Model Context Protocol")
    .version("0.1.0");
}

/**
 * The root command with placeholder subcommands (names and descriptions only): answers
 * `--version`, `--help`, `help` and unknown commands without importing any subcommand module.
 */
export function buildProgram(): Command {
  const program = root();
  const terms = new Map<Command, string>();
  for (const s of SUBCOMMANDS) terms.set(program.command(nameOf(s.term)).description(s.description), s.term);
  const help = program.createHelp();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? help.subcommandTerm(cmd) });
  return program;
}

/** The whole command tree: every subcommand module imported and registered (each area adds its own). */
export async function buildFullProgram(): Promise<Command> {
  const modules = await Promise.all(SUBCOMMANDS.map((s) => s.load()));
  const program = root();
  for (const m of modules) m.register(program);
  return program;
}

/**
 * Runs the CLI. A subcommand (or `help <subcommand>`) gets the full tree, as before: `serve` and
 * `config check` need every area's plugins registered. Anything else needs only the root.
 */
export async function runCli(argv: string[]): Promise<void> {
  const operands = argv.slice(2).filter((a) => !a.startsWith("-"));
  const [first, second] = operands;
  const full = NAMES.has(first) || (first === "help" && second !== undefined);
  const program = full ? await buildFullProgram() : buildProgram();
  await program.parseAsync(argv);
}
