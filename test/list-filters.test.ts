import { describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createTestRegistry } from '../src/testing/index.js';

describe('list(): ID prefix, newest-updated order, counts per status', () => {
  it('filters by ID prefix and orders by last update, newest first, across pages', async () => {
    const registry = await createTestRegistry({ machines: demoMachines });
    for (const id of ['po/1', 'po/2', 'po/3', 'pay/1', 'po', 'q/po/1']) {
      await registry.spawnSingleton('approval', id);
      await registry.clock.increment(10);
    }
    const prefixed = await registry.list({ idPrefix: 'po/' });
    expect(prefixed.items.map((s) => s.id)).toEqual(['po/1', 'po/2', 'po/3']);

    await registry.send('po/1', { type: 'APPROVE', by: 'ada' });
    await registry.clock.increment(10);
    await registry.send('pay/1', { type: 'REJECT', by: 'bob' });
    const first = await registry.list({ order: 'updated', limit: 2 });
    expect(first.items.map((s) => s.id)).toEqual(['pay/1', 'po/1']);
    const second = await registry.list({ order: 'updated', limit: 10, cursor: first.cursor });
    expect(second.items.map((s) => s.id)).toEqual(['q/po/1', 'po', 'po/3', 'po/2']);
    const poDone = await registry.list({ idPrefix: 'po', status: 'done', order: 'updated' });
    expect(poDone.items.map((s) => s.id)).toEqual(['po/1']);

    expect(await registry.counts()).toEqual({
      running: 4,
      done: 2,
      error: 0,
      stopped: 0,
      total: 6,
    });
    expect(await registry.counts({ idPrefix: 'po/' })).toEqual({
      running: 2,
      done: 1,
      error: 0,
      stopped: 0,
      total: 3,
    });
    await registry.purge('po/1');
    await registry.stop('po/2', 'no longer needed');
    expect(await registry.counts({ idPrefix: 'po/' })).toEqual({
      running: 1,
      done: 0,
      error: 0,
      stopped: 1,
      total: 2,
    });
    await registry.close();
  });

  it('rejects a bad prefix or order with INVALID_ARGUMENT', async () => {
    const registry = await createTestRegistry({ machines: demoMachines });
    await expect(registry.list({ idPrefix: 3 as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(registry.list({ order: 'sideways' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    // A cursor of one order is not accepted by the other.
    await registry.spawnSingleton('approval', 'a');
    await registry.spawnSingleton('approval', 'b');
    const page = await registry.list({ limit: 1 });
    await expect(registry.list({ order: 'updated', cursor: page.cursor })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await registry.close();
  });
});
