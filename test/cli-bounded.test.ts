import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { TopK } from '../src/cli/top-k.js';
import { createRegistry, FileStore } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';

const root = resolve(import.meta.dirname, '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The CLI from source in a child process whose heap is capped at `heapMb`. */
function cliWithHeap(heapMb: number, ...args: string[]) {
  return new Promise<{ code: number; out: string; err: string }>((done) => {
    execFile(
      process.execPath,
      [
        `--max-old-space-size=${heapMb}`,
        '--import',
        'tsx',
        join(root, 'src/cli/xstate-registry.ts'),
        ...args,
      ],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
      (error, out, err) => done({ code: error ? Number(error.code ?? 1) : 0, out, err }),
    );
  });
}

describe('cli ls is bounded by its --limit, however many records match', () => {
  it('lists the first 3 of 4,000 records of 40 KB each (160 MB, twice that parsed) in a 96 MB heap, and counts the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xr-cli-many-'));
    dirs.push(dir);
    const registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
    await registry.start();
    await registry.spawnSingleton('approval', 'seed', { input: { subject: 'x'.repeat(40_000) } });
    await registry.close();
    const seedFile = join(dir, 'instances', fileNameFor('seed'));
    const seed = JSON.parse(readFileSync(seedFile, 'utf8')) as Record<string, unknown>;
    rmSync(seedFile);
    const total = 4_000;
    // Written in an order unlike creation order, so the listing must really select.
    for (let n = 0; n < total; n++) {
      const i = (n * 7919) % total;
      const id = `big/${i}`;
      writeFileSync(
        join(dir, 'instances', fileNameFor(id)),
        JSON.stringify({
          ...seed,
          id,
          createdAt: 1_764_000_000_000 + i,
          updatedAt: 1_764_000_000_000 + i,
        }),
      );
    }
    const r = await cliWithHeap(96, '--store', dir, 'ls', '--limit', '3', '--json');
    expect(r.err).toContain('(3997 more; raise --limit)');
    expect(r.code).toBe(0);
    expect(
      r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['big/0', 'big/1', 'big/2']);
    const newest = await cliWithHeap(
      96,
      '--store',
      dir,
      'ls',
      '--limit',
      '2',
      '--order',
      'updated',
      '--json',
    );
    expect(
      newest.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['big/3999', 'big/3998']);
    // A limit beyond what one listing holds is refused with what to do instead.
    const tooMany = await cliWithHeap(96, '--store', dir, 'ls', '--limit', '10001');
    expect(tooMany.code).toBe(2); // bad usage, as the README's exit codes say (it was 1)
    expect(tooMany.err).toMatch(/INVALID_ARGUMENT: --limit must be an integer from 1 to 10000/);
  }, 240_000);

  // Found by an attack: `ls` held each pick whole (parsed twice), so 40 records
  // of 4 MiB, well under maxFileBytes, ran a 512 MB heap out of memory (V8's
  // fatal error, exit 134, nothing printed). A pick now holds its table row;
  // --json reads its picks again, one at a time, to print them.
  it('lists 20 of 26 records of 4 MiB each (104 MiB) in a 96 MB heap, and prints them whole with --json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xr-cli-wide-'));
    dirs.push(dir);
    const registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
    await registry.start();
    await registry.spawnSingleton('approval', 'seed', {
      input: { subject: 'x'.repeat(4 * 1024 * 1024) },
    });
    await registry.close();
    const seedFile = join(dir, 'instances', fileNameFor('seed'));
    const seed = JSON.parse(readFileSync(seedFile, 'utf8')) as Record<string, unknown>;
    rmSync(seedFile);
    for (let i = 0; i < 26; i++) {
      const id = `wide/${String(i).padStart(2, '0')}`;
      writeFileSync(
        join(dir, 'instances', fileNameFor(id)),
        JSON.stringify({
          ...seed,
          id,
          createdAt: 1_764_000_000_000 + i,
          updatedAt: 1_764_000_000_000 + i,
        }),
      );
    }
    const human = await cliWithHeap(96, '--store', dir, 'ls', '--limit', '20');
    expect(human.err).toContain('(6 more; raise --limit)');
    expect(human.code).toBe(0);
    const rows = human.out.trim().split('\n');
    expect(rows).toHaveLength(21); // the header and 20 rows
    expect(rows[1]).toMatch(/^wide\/00 /);
    const json = await cliWithHeap(96, '--store', dir, 'ls', '--limit', '3', '--json');
    expect(json.code).toBe(0);
    const shown = json.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(shown.map((s) => s.id)).toEqual(['wide/00', 'wide/01', 'wide/02']);
    expect(shown[2].context.subject).toHaveLength(4 * 1024 * 1024);
  }, 240_000);

  it('TopK picks the first k of a stream in order, holding at most 2k', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_000);
    for (const k of [1, 2, 7, 100, 9_999, 10_000, 20_000]) {
      const top = new TopK<number>(k, (a, b) => a - b);
      for (const v of values) top.offer(v);
      expect(top.result()).toEqual(Array.from({ length: Math.min(k, 10_000) }, (_, i) => i));
      expect(top.seen).toBe(10_000);
    }
  });
});
