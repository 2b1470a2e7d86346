#!/usr/bin/env node
/**
 * The `xstate-registry` command: `npx xstate-registry --store ./data ls`.
 * See {@link runCli} for the commands.
 */
import { runCli } from './run-cli.js';

void runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then((code) => {
  process.exitCode = code;
});
