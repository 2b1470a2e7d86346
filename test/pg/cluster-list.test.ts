import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { TestClock } from '../../src/testing/index.js';
import { machines } from '../fixtures.js';
import { freshTable, noPg, server } from './helpers.js';

// The list features the dashboard uses, served by SQL on a PostgreSQL store,
// across two processes' registries on one table.
describe.skipIf(noPg)('cluster-mode list features', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((c) => c.close()));
  });

  async function registryOn(table: string, clock = new TestClock(Date.UTC(2026, 0, 1))) {
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    const registry = createRegistry({ machines, store, clock, takeoverIntervalMs: 60_000 });
    open.push(registry);
    await registry.start();
    return { registry, clock };
  }

  async function seeded() {
    const table = freshTable();
    const a = await registryOn(table);
    const b = await registryOn(table, a.clock);
    // Hosted by two processes; created and updated at distinct test-clock times.
    for (const [r, id] of [
      [a, 'order-1'],
      [b, 'order-2'],
      [a, 'user-1'],
      [b, 'order_3'],
      [a, 'order-4'],
    ] as const) {
      await r.registry.spawnSingleton('counter', id);
      a.clock.increment(1000);
    }
    await a.registry.send('order-1', { type: 'INC' });
    a.clock.increment(1000);
    await b.registry.send('order-2', { type: 'FINISH' });
    await a.registry.flush();
    await b.registry.flush();
    return { a, b };
  }

  it("list({ idPrefix }) and list({ order: 'updated' }) page through the database", async () => {
    const { a, b } = await seeded();
    const ids = (page: { items: Array<{ id: string }> }) => page.items.map((s) => s.id);
    // '_' is no LIKE wildcard here: only IDs that start with the exact prefix.
    expect(ids(await b.registry.list({ idPrefix: 'order-' }))).toEqual([
      'order-1',
      'order-2',
      'order-4',
    ]);
    expect(ids(await b.registry.list({ idPrefix: 'order_' }))).toEqual(['order_3']);
    // Newest-updated first, then ID descending; paged with a cursor.
    const first = await a.registry.list({ order: 'updated', limit: 2 });
    expect(ids(first)).toEqual(['order-2', 'order-1']);
    const rest = await a.registry.list({
      order: 'updated',
      limit: 10,
      cursor: first.cursor as string,
    });
    expect(ids(rest)).toEqual(['order-4', 'order_3', 'user-1']);
    expect(
      ids(await a.registry.list({ order: 'updated', idPrefix: 'order-', status: 'running' })),
    ).toEqual(['order-1', 'order-4']);
    // A cursor of one order is refused by the other.
    await expect(a.registry.list({ cursor: first.cursor as string })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('counts() counts by status in the database, by type and ID prefix', async () => {
    const { a, b } = await seeded();
    expect(await a.registry.counts()).toEqual({
      running: 4,
      done: 1,
      error: 0,
      stopped: 0,
      total: 5,
    });
    expect(await b.registry.counts({ idPrefix: 'order-', type: 'counter' })).toEqual({
      running: 2,
      done: 1,
      error: 0,
      stopped: 0,
      total: 3,
    });
    expect(await b.registry.counts({ type: ['nope'] })).toMatchObject({ total: 0 });
  });

  // Each reached the database as it was: a DatabaseError (22P02, 22003), a 500 over HTTP.
  it('times that are not whole stored milliseconds, and forged cursors, answer like a local list', async () => {
    const { a } = await seeded();
    const t0 = Date.UTC(2026, 0, 1);
    const ids = async (filter: object) =>
      (await a.registry.list(filter as never)).items.map((s) => s.id);
    expect(await ids({ createdFrom: t0 + 999.5 })).toEqual(await ids({ createdFrom: t0 + 1000 }));
    expect(await ids({ createdTo: t0 + 1000.5 })).toEqual(await ids({ createdTo: t0 + 1000 }));
    expect(await ids({ createdFrom: 1e300 })).toEqual([]);
    expect(await ids({ updatedTo: -1e300 })).toEqual([]);
    expect(await ids({ createdFrom: -1e300 })).toHaveLength(5);
    const forge = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const cursor of [forge([1.5, 'a']), forge([1e300, 'a']), forge([2 ** 60, 'a'])])
      await expect(a.registry.list({ cursor })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    for (const cursor of [
      forge(['a', '99999999999999999999']),
      forge(['a', '1', '9223372036854775808']),
    ])
      await expect(a.registry.quarantined({ cursor })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
  });
});
