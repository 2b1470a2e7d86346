import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createRegistry, FileStore } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';
import { type FileHandleLike, type FsLayer, nodeFs } from '../src/testing/index.js';
import { machines } from './fixtures.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);

describe('bounded file I/O', () => {
  it('5,000 new instances and close() under `ulimit -n 1024`: no EMFILE, every instance there at the next start', async () => {
    const dir = await tempDir();
    const script = join(import.meta.dirname, 'support', 'many-instances.ts');
    const { stdout } = await run(
      'bash',
      ['-c', `ulimit -n 1024; exec "${process.execPath}" --import tsx "${script}" "${dir}" 5000`],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout.trim()).toBe('closed');
    const registry = createRegistry({ machines, store: new FileStore({ dir }) });
    const summary = await registry.start();
    expect(summary.quarantined).toEqual([]);
    expect(summary.restored).toBe(5000);
    await registry.close();
  }, 300_000);
});

/** Counts the file operations under way at once (open to close, renames, directory syncs). */
function countingFs(): { fs: FsLayer; peak: () => number } {
  let now = 0;
  let peak = 0;
  const enter = () => {
    now++;
    peak = Math.max(peak, now);
  };
  const timed =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      enter();
      try {
        return await f(...a);
      } finally {
        now--;
      }
    };
  const fs: FsLayer = {
    ...nodeFs,
    readFile: timed(nodeFs.readFile),
    rename: timed(nodeFs.rename),
    unlink: timed(nodeFs.unlink),
    syncDir: timed(nodeFs.syncDir),
    open: async (path, flags): Promise<FileHandleLike> => {
      enter();
      try {
        const h = await nodeFs.open(path, flags);
        return { ...h, close: () => h.close().finally(() => now--) };
      } catch (err) {
        now--;
        throw err;
      }
    },
  };
  return { fs, peak: () => peak };
}

describe('maxConcurrentIo', () => {
  it('never runs more file operations at once than configured', async () => {
    const dir = await tempDir();
    const { fs, peak } = countingFs();
    const store = new FileStore({ dir, fs, maxConcurrentIo: 4 });
    const registry = createRegistry({ machines, store });
    await registry.start();
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => registry.spawnSingleton('counter', `c${i}`)),
    );
    await registry.flush();
    await registry.close();
    expect(peak()).toBeGreaterThan(1);
    expect(peak()).toBeLessThanOrEqual(4);
  });

  it('is validated', () => {
    expect(() => new FileStore({ dir: '/tmp/x', maxConcurrentIo: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('flush() and close() name exactly what is not durable', () => {
  it('rejects with the IDs whose writes failed, and only those', async () => {
    const dir = await tempDir();
    const broken = new Set(['b1', 'b2', 'b3'].map((id) => fileNameFor(id).slice(0, 32)));
    let failing = true;
    const fs: FsLayer = {
      ...nodeFs,
      open: (path, flags) =>
        failing && [...broken].some((h) => path.includes(`.tmp-${h}`))
          ? Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))
          : nodeFs.open(path, flags),
    };
    const registry = createRegistry({ machines, store: new FileStore({ dir, fs }) });
    registry.on('error', () => {});
    await registry.start();
    for (const id of ['a1', 'b1', 'a2', 'b2', 'b3', 'a3'])
      await registry.spawnSingleton('counter', id);
    const err = await registry.flush().then(
      () => undefined,
      (e) => e,
    );
    expect(err).toMatchObject({ code: 'PERSIST_FAILED' });
    expect([...err.details.ids].sort()).toEqual(['b1', 'b2', 'b3']);
    expect(err.message).toMatch(/3 instances are not durable/);
    const closing = await registry.close().then(
      () => undefined,
      (e) => e,
    );
    expect([...closing.details.ids].sort()).toEqual(['b1', 'b2', 'b3']);
    // The failed close kept the store (its writes may yet succeed): another owner is refused.
    await expect(
      createRegistry({ machines, store: new FileStore({ dir }) }).start(),
    ).rejects.toMatchObject({
      code: 'STORE_LOCKED',
    });
    failing = false;
    // Retried once the fault is gone, the close writes the three and gives the store up.
    await registry.close();
    const again = createRegistry({ machines, store: new FileStore({ dir }) });
    const summary = await again.start();
    expect(summary.restored).toBe(6);
    await again.close();
  });
});
