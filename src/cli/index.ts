#!/usr/bin/env node
// Entry point of the `warden` command. Subcommands register themselves in ./commands and are
// imported only when one runs (see program.ts): `warden --version` and `--help` import none.
import { runCli } from "./program.js";

await runCli(process.argv);
