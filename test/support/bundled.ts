import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '../..');
const dir = join(root, '.tmp', 'bundles');
const made = new Map<string, Promise<string>>();

/**
 * `entry` (a TypeScript child-process script) compiled once per test file into
 * one ES module under `.tmp/bundles`, for `node <bundle>`. A process started
 * with `--import tsx` spends about 0.5 s of CPU compiling and hooking its
 * imports before it runs a line: the race tests start hundreds. Packages stay
 * imports of `node_modules` (the XState under test), and the bundle sits
 * inside the repository so that they resolve. Only for scripts that read no
 * file beside their own (`import.meta.url` is the bundle's): not the file
 * store's loader with its worker thread, for instance.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [await bundled(join(import.meta.dirname, 'worker.ts')), dir]);
 * ```
 */
export function bundled(entry: string): Promise<string> {
  let out = made.get(entry);
  if (!out) {
    out = compile(entry);
    made.set(entry, out);
  }
  return out;
}

async function compile(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'warning',
  });
  const code = result.outputFiles[0]?.contents;
  if (!code) throw new Error(`esbuild produced nothing for ${entry}`);
  // Named by content: test files bundling the same script at once write the same bytes.
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const file = join(dir, `${basename(entry, '.ts')}-${hash}.mjs`);
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await mkdir(dir, { recursive: true });
    // Unique per writer even where test files share a process (a threads pool).
    const temp = `${file}.${process.pid}.${threadId}.${randomUUID()}.tmp`;
    await writeFile(temp, code);
    await rename(temp, file);
  }
  return file;
}
