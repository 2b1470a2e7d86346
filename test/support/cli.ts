import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
/** The built CLI, as `npx xstate-registry` runs it. */
export const CLI_BIN = join(root, 'dist/cli/xstate-registry.js');

/** Builds the package (tsc -p tsconfig.build.json), so the CLI under test is the built one. */
export function buildCli(): Promise<void> {
  return new Promise<void>((ok, fail) =>
    execFile(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      { cwd: root },
      (e, _o, err) => (e ? fail(new Error(err)) : ok()),
    ),
  );
}

/** Runs the built CLI as a child process. */
export function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI_BIN, ...args], (error, out, err) =>
      done({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}
