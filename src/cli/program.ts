import { Command } from "commander";
import { register as registerApprovals } from "./commands/approvals.js";
import { register as registerAudit } from "./commands/audit.js";
import { register as registerConfig } from "./commands/config.js";
import { register as registerKeys } from "./commands/keys.js";
import { register as registerPolicy } from "./commands/policy.js";
import { register as registerSandbox } from "./commands/sandbox.js";
import { register as registerScan } from "./commands/scan.js";
import { register as registerServe } from "./commands/serve.js";
import { register as registerTools } from "./commands/tools.js";

// The root command. Each area adds its subcommand here (serve, config, policy, audit, scan, sandbox, keys, approvals).
export function buildProgram(): Command {
  const program = new Command("warden")
    .description("mcp-warden: a governance proxy for the Model Context Protocol")
    .version("0.1.0");
  registerKeys(program);
  registerPolicy(program);
  registerApprovals(program);
  registerSandbox(program);
  registerServe(program);
  registerConfig(program);
  registerAudit(program);
  registerScan(program);
  registerTools(program);
  return program;
}
