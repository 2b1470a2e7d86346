import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { freshTable, noPg, server, sql } from './helpers.js';

/** Fault injection: the first sweep for orphans fails, as a dropped connection would make it. */
class FirstSweepFails extends PostgresStore {
  failures = 1;
  override async orphans(limit: number, decodable?: ReadonlyMap<string, number>) {
    if (this.failures-- > 0) throw new Error('connection terminated (injected)');
    return super.orphans(limit, decodable);
  }
}

describe.skipIf(noPg)('a PostgresStore opened again after close()', () => {
  it('a registry whose start failed after opening the store starts on a retry', async () => {
    // start() closes the store it opened when a later step fails; the pools
    // the store made from its connection string used to stay ended, so every
    // retry failed ("Cannot use a pool after calling end on the pool").
    const table = freshTable();
    const store = new FirstSweepFails({ connectionString: server.url, table, leaseMs: 30_000 });
    const registry = createRegistry({ machines: { counter }, store });
    await expect(registry.start()).rejects.toThrow('injected');
    await registry.start();
    try {
      await registry.spawnSingleton('counter', 'after-retry');
      await registry.send('after-retry', { type: 'INC' });
      await registry.flush();
      const rows = await sql(`SELECT owner FROM ${table} WHERE id = 'after-retry'`);
      expect(rows[0]?.owner).toBe(store.ownerId);
    } finally {
      await registry.close();
    }
  });

  it('an open() while close() is still under way waits for it, then works over new pools', async () => {
    // Found by review: the open went ahead beside the close, which then ended
    // the pools the opened store worked through.
    const table = freshTable();
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    await store.open();
    await store.claim('before');
    const closing = store.close();
    const opening = store.open();
    await closing;
    await opening;
    try {
      const claimed = await store.claim('after');
      expect(claimed).toMatchObject({ owned: true });
      await store.write('after', '{"n":1}', {
        type: 'counter',
        status: 'running',
        machineVersion: 1,
        createdAt: 1,
        updatedAt: 1,
      });
      expect(await store.read('after')).toBe('{"n":1}');
    } finally {
      await store.close();
    }
  });

  it('serves a second registry after the first one closed, with its instances where they were', async () => {
    const table = freshTable();
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    const first = createRegistry({ machines: { counter }, store });
    await first.start();
    await first.spawnSingleton('counter', 'kept');
    await first.send('kept', { type: 'INC' });
    await first.flush();
    await first.close();

    const second = createRegistry({ machines: { counter }, store });
    await second.start();
    try {
      const actor = await second.spawnSingleton('counter', 'kept');
      expect(actor.getSnapshot().context.count).toBe(1);
      await second.send('kept', { type: 'INC' });
      await second.flush();
      expect(actor.getSnapshot().context.count).toBe(2);
    } finally {
      await second.close();
    }
  });
});
