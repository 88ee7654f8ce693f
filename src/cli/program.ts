import { Command } from "commander";

// The root command. Each area adds its subcommand here (serve, config, policy, audit, scan, sandbox, keys, approvals).
export function buildProgram(): Command {
  const program = new Command("warden")
    .description("mcp-warden: a governance proxy for the Model Context Protocol")
    .version("0.1.0");
  return program;
}
