/**
 * A purge whose store delete failed used to drop the instance from memory
 * first: the call rejected with the bare fs error, a retry answered
 * INSTANCE_NOT_FOUND, and after a restart the instance was back (a forced
 * purge had also thrown away its unwritten state). Now nothing changes until
 * the store has deleted the record: the purge rejects with PERSIST_FAILED, the
 * instance stays as it was, and the purge can be retried.
 */
import { describe, expect, it } from 'vitest';
import { createRegistry, FileStore, isRegistryError } from '../src/index.js';
import { type FsLayer, nodeFs, TestClock } from '../src/testing/index.js';
import { machines } from './fixtures.js';
import { tempDir } from './helpers.js';

/** A file store whose next `unlink` fails once with EIO (fault injection). */
function faultyStore(dir: string) {
  const fault = { armed: false };
  const fs: FsLayer = {
    ...nodeFs,
    unlink: (path) => {
      if (!fault.armed) return nodeFs.unlink(path);
      fault.armed = false;
      return Promise.reject(
        Object.assign(new Error(`EIO: i/o error, unlink '${path}'`), { code: 'EIO' }),
      );
    },
  };
  return { store: new FileStore({ dir, fs }), fault };
}

/** One whose `unlink` works but the directory sync after it fails once: the file is gone, not durably. */
function unsyncedStore(dir: string) {
  const fault = { armed: false, unlinked: false };
  const fs: FsLayer = {
    ...nodeFs,
    unlink: async (path) => {
      await nodeFs.unlink(path);
      if (fault.armed) fault.unlinked = true;
    },
    syncDir: (path) => {
      if (!fault.unlinked) return nodeFs.syncDir(path);
      fault.armed = fault.unlinked = false;
      return Promise.reject(
        Object.assign(new Error(`EIO: i/o error, fsync '${path}'`), { code: 'EIO' }),
      );
    },
  };
  return { store: new FileStore({ dir, fs }), fault };
}

// The delete may have happened although the store reported a failure: the
// record is written again, so that disk and registry still agree.
it('a purge whose unlink worked but whose directory sync failed: the instance and its record stay', async () => {
  const dir = await tempDir();
  const { store, fault } = unsyncedStore(dir);
  const r = createRegistry({ machines, store });
  await r.start();
  r.on('error', () => {});
  await r.spawnSingleton('counter', 'c');
  await r.send('c', { type: 'INC' });
  await r.stop('c', 'done with it');
  await r.flush();
  fault.armed = true;
  await expect(r.purge('c')).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
  expect(fault.armed).toBe(false); // the fault did fire
  await r.flush();
  await r.close();
  const again = createRegistry({ machines, store: new FileStore({ dir }) });
  await again.start();
  expect(await again.getStatus('c')).toMatchObject({ status: 'stopped', context: { count: 1 } });
  await again.close();
});

// The rewrite after a failed delete met a passive instance with no state in memory:
// flush() and close() then failed with NOT_SERIALIZABLE.
it('a purge of a passive instance whose delete fails leaves flush() and close() working', async () => {
  const dir = await tempDir();
  const { store, fault } = unsyncedStore(dir);
  const clock = new TestClock(Date.UTC(2026, 0, 1));
  const r = createRegistry({ machines, store, clock, idleTimeoutMs: 1000 });
  const errors: string[] = [];
  r.on('error', (e) => errors.push(e.code));
  await r.start();
  await r.spawnSingleton('counter', 'c');
  await r.flush();
  clock.increment(5000);
  await new Promise((resolve) => setImmediate(resolve));
  await r.flush();
  expect(r.get('c')).toBeUndefined();
  fault.armed = true;
  await expect(r.purge('c', { force: true })).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
  await r.flush();
  await r.close();
  expect(errors).not.toContain('NOT_SERIALIZABLE');
});

describe.each(['relaxed', 'strict'] as const)('%s: a purge whose delete fails', (durability) => {
  it('a finished instance: rejects PERSIST_FAILED, stays as it was, and a retried purge works', async () => {
    const dir = await tempDir();
    const { store, fault } = faultyStore(dir);
    const r = createRegistry({ machines, store, durability });
    await r.start();
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    await r.stop('c', 'done with it');
    fault.armed = true;
    const err = await r.purge('c').catch((e: unknown) => e);
    expect(isRegistryError(err, 'PERSIST_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/not purged/);
    expect(await r.getStatus('c')).toMatchObject({ status: 'stopped', context: { count: 1 } });
    await r.close();
    // The store agrees with what the registry said.
    const again = createRegistry({ machines, store: new FileStore({ dir }), durability });
    await again.start();
    expect(await again.getStatus('c')).toMatchObject({ status: 'stopped', context: { count: 1 } });
    await again.purge('c');
    expect(await again.getStatus('c')).toBeUndefined();
    await again.close();
  });

  it('a running instance purged with force: still running and writing, and a retried purge works', async () => {
    const dir = await tempDir();
    const { store, fault } = faultyStore(dir);
    const r = createRegistry({ machines, store, durability });
    await r.start();
    const actor = await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    fault.armed = true;
    await expect(r.purge('c', { force: true })).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
    expect(r.get('c')).toBe(actor);
    await r.send('c', { type: 'INC' });
    await r.flush();
    await r.close();
    const again = createRegistry({ machines, store: new FileStore({ dir }), durability });
    await again.start();
    expect(await again.getStatus('c')).toMatchObject({ status: 'running', context: { count: 2 } });
    await again.purge('c', { force: true });
    expect(again.get('c')).toBeUndefined();
    await again.close();
    const third = createRegistry({ machines, store: new FileStore({ dir }), durability });
    await third.start();
    expect(await third.getStatus('c')).toBeUndefined();
    await third.close();
  });
});
