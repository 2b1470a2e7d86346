/**
 * A store may load back only records up to a size of its own (the file
 * store's `maxFileBytes`). The registry wrote larger ones all the same (its
 * own limit, `maxRecordBytes`, is 16 MiB by default), `flush()` resolved, and
 * the next start set the record aside as too large: the instance was gone.
 * Now the store's limit bounds what the registry writes, like its own.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { createRegistry, FileStore, isRegistryError } from '../src/index.js';
import { tempDir } from './helpers.js';

const doc = setup({
  types: { context: {} as { blob: string }, events: {} as { type: 'FILL'; n: number } },
}).createMachine({
  id: 'doc',
  context: { blob: '' },
  on: { FILL: { actions: assign({ blob: ({ event }) => 'x'.repeat(event.n) }) } },
});

describe('a store with a record size limit of its own', () => {
  it('a state over the file store’s maxFileBytes is refused at write time, and the last good record loads at the next start', async () => {
    const dir = await tempDir();
    const open = () =>
      createRegistry({ machines: { doc }, store: new FileStore({ dir, maxFileBytes: 16_384 }) });
    const r = open();
    r.on('error', () => {});
    await r.start();
    await r.spawnSingleton('doc', 'd');
    await r.send('d', { type: 'FILL', n: 1_000 });
    await r.flush();
    await r.send('d', { type: 'FILL', n: 20_000 });
    const flushed = await r.flush().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isRegistryError(flushed)).toBe(true);
    expect((await r.getStatus('d'))?.persistError?.code).toBe('SNAPSHOT_TOO_LARGE');
    await r.close().catch(() => {});
    const again = open();
    const started = await again.start();
    try {
      expect(started.quarantined).toEqual([]);
      const status = await again.getStatus('d');
      expect((status?.context as { blob: string } | undefined)?.blob.length).toBe(1_000);
    } finally {
      await again.close();
    }
  });

  it('a maxRecordBytes above what the store can load back is refused at createRegistry', () => {
    const store = new FileStore({ dir: '/nonexistent-never-opened', maxFileBytes: 1024 });
    let refused: unknown;
    try {
      createRegistry({ machines: { doc }, store, maxRecordBytes: 4096 });
    } catch (err) {
      refused = err;
    }
    expect(isRegistryError(refused, 'INVALID_ARGUMENT')).toBe(true);
    expect((refused as Error).message).toContain('maxFileBytes');
  });

  it.each([
    ['NaN (Number of an unset variable)', Number.NaN],
    ['zero', 0],
    ['a fraction', 1.5],
  ])(
    'a FileStore maxFileBytes of %s is refused with INVALID_ARGUMENT naming it',
    (_, maxFileBytes) => {
      let refused: unknown;
      try {
        new FileStore({ dir: '/nonexistent-never-opened', maxFileBytes });
      } catch (err) {
        refused = err;
      }
      expect(isRegistryError(refused, 'INVALID_ARGUMENT')).toBe(true);
      expect((refused as Error).message).toContain('maxFileBytes');
    },
  );
});
