import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';

const root = resolve(import.meta.dirname, '../..');

/**
 * Where this test file's build of the CLI goes. Its own directory, not dist/:
 * two test files building into dist/ at once (tsc rewrites each file in place)
 * let one file's CLI load a module the other's tsc was writing, and fail with
 * "does not provide an export named 'MAX_DEPTH'" (a CI failure on Node 22).
 */
const outDir = join(root, '.tmp', `cli-build-${process.pid}-${threadId}`);

/** The built CLI, as `npx xstate-registry` runs it (compiled by tsc from tsconfig.build.json). */
export const CLI_BIN = join(outDir, 'cli/xstate-registry.js');

/** Builds the package into this test file's own directory (tsc -p tsconfig.build.json). */
export function buildCli(): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(root, '.tmp'), { recursive: true });
  // Builds of test processes that have ended (a worker is not given time to clean up).
  for (const name of readdirSync(join(root, '.tmp'), { withFileTypes: true })) {
    const pid = /^cli-build-(\d+)-/.exec(name.name)?.[1];
    if (pid && !alive(Number(pid)))
      rmSync(join(root, '.tmp', name.name), { recursive: true, force: true });
  }
  return new Promise<void>((ok, fail) =>
    execFile(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        outDir,
      ],
      { cwd: root },
      (e, _o, err) => (e ? fail(new Error(err)) : ok()),
    ),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs the built CLI as a child process. */
export function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI_BIN, ...args], (error, out, err) =>
      done({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}
