/**
 * Leases name their holder by owner ID alone, and a claim by the same ID keeps
 * the row's epoch. Two processes given one `ownerId` (a fixed name shared by
 * replicas, say) both started, both hosted the same instance and both wrote
 * it past the fence: two live actors for one ID. A process now holds its owner
 * ID (a session advisory lock) from start to close, and another live process
 * with the same ID is refused with STORE_LOCKED, paused or not; once that one
 * is gone (SIGKILL) the ID is free again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, type Registry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { machines } from '../fixtures.js';
import { freshTable, noPg, server, sql, until } from './helpers.js';
import { startWorker, type Worker } from './workers.js';

const open: Array<{ close(): Promise<void> }> = [];
const workers: Worker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) {
    w.signal('SIGCONT');
    w.signal('SIGKILL');
    await w.exited;
  }
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

function registryAs(table: string, ownerId: string): Registry<typeof machines> {
  const registry = createRegistry({
    machines,
    store: new PostgresStore({ connectionString: server.url, table, ownerId, leaseMs: 30_000 }),
    takeoverIntervalMs: 60_000,
  });
  open.push(registry);
  return registry;
}

const row = (table: string) =>
  sql<{ owner: string; epoch: string; record: string }>(
    `SELECT owner, epoch::text, record FROM ${table} WHERE id = 'x'`,
  );

describe.skipIf(noPg)('PostgreSQL: one live process per ownerId', () => {
  it('refuses a second process with the same ownerId while the first lives, paused or not', async () => {
    const table = freshTable();
    const first = await startWorker(server.url as string, table, 'strict', 'v1', 30_000, {
      XR_OWNER_ID: 'twin',
    });
    workers.push(first);
    expect(first.ownerId).toBe('twin');
    expect((await first.call({ op: 'ensure', type: 'counter', id: 'x' })).created).toBe(true);
    const before = await row(table);

    const second = registryAs(table, 'twin');
    await expect(second.start()).rejects.toMatchObject({
      code: 'STORE_LOCKED',
      details: { ownerId: 'twin' },
    });
    // Paused, the first still holds it.
    first.signal('SIGSTOP');
    await expect(second.start()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    first.signal('SIGCONT');
    // The refused one touched nothing: the row is the first's, as it was.
    expect(await row(table)).toEqual(before);
    expect((await first.call({ op: 'send', id: 'x', event: { type: 'INC' } })).ok).toBe(true);
    // Another ownerId starts beside it, as always.
    await registryAs(table, 'other').start();

    // Gone (SIGKILL: no close, no release), it frees the ID: a retried start
    // succeeds and takes its own row back at once, state intact.
    first.signal('SIGKILL');
    await first.exited;
    await until(
      () =>
        second.start().then(
          () => true,
          (err: { code?: string }) => {
            if (err.code !== 'STORE_LOCKED') throw err;
            return false;
          },
        ),
      (started) => started,
      "the killed process's session to end",
    );
    await second.send('x', { type: 'INC' });
    expect((await second.getStatus('x'))?.context).toMatchObject({ count: 2 });
    expect((await row(table))[0]?.owner).toBe('twin');
  });

  it('frees the ownerId at close(), for the next process to take', async () => {
    const table = freshTable();
    const a = registryAs(table, 'pod-7');
    await a.start();
    await a.spawnSingleton('counter', 'x');
    const b = registryAs(table, 'pod-7');
    await expect(b.start()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await a.close();
    await b.start();
    await b.send('x', { type: 'INC' });
    expect((await b.getStatus('x'))?.context).toMatchObject({ count: 1 });
  });
});
