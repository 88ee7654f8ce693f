#!/usr/bin/env node
// Entry point of the `warden` command. Subcommands register themselves in ./commands.
import { buildProgram } from "./program.js";

await buildProgram().parseAsync(process.argv);
