#!/usr/bin/env node
/**
 * The `xstate-registry` command: `npx xstate-registry --store ./data ls`.
 * See {@link runCli} for the commands.
 */
import { runCli } from './run-cli.js';

// `xstate-registry ls | head -1`: the reader is gone, and so is the point of
// writing more; without this the write's EPIPE crashed with a stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

void runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then((code) => {
  process.exitCode = code;
});
