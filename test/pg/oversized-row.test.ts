/**
 * A row whose record (or an inbox message) is larger than the store reads was
 * fetched whole: 600 million characters crashed the process inside the
 * driver (ERR_STRING_TOO_LONG), on getStatus and on the takeover sweep's
 * claim alike, and the next owner to claim it crashed the same way. The store
 * now asks for the size first (octet_length) and never fetches more than
 * `maxRecordBytes`: an oversized record is set aside like any other bad one,
 * an oversized message is reported and dropped. A small limit stands in for
 * the driver's here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { machines } from '../fixtures.js';
import { freshTable, noPg, server, sql, until } from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

const LIMIT = 64 * 1024;

function registryOn(table: string) {
  const registry = createRegistry({
    machines,
    store: new PostgresStore({
      connectionString: server.url,
      table,
      leaseMs: 30_000,
      maxRecordBytes: LIMIT,
    }),
    maxRecordBytes: LIMIT,
    takeoverIntervalMs: 60_000,
  });
  open.push(registry);
  return registry;
}

describe.skipIf(noPg)('PostgreSQL: a record or message over maxRecordBytes', () => {
  it('is never fetched: reads and claims refuse it and leave it in place, other instances carry on', async () => {
    const table = freshTable();
    const registry = registryOn(table);
    const errors: string[] = [];
    registry.on('error', (e) => errors.push(e.code));
    const quarantined: string[] = [];
    registry.on('quarantined', ({ key }) => quarantined.push(key));
    await registry.start();
    await registry.spawnSingleton('counter', 'fine');
    await registry.spawnSingleton('counter', 'big');
    await registry.close();
    // Grown by hand past the limit, under a lease of a process that is alive (so others read the row).
    await sql(
      `UPDATE ${table} SET record = rpad(record, ${LIMIT * 4}, ' '), owner = 'ghost',
         lease_expires_at = now() + interval '1 hour' WHERE id = 'big'`,
    );
    const again = registryOn(table);
    again.on('error', () => {});
    again.on('quarantined', ({ key }) => quarantined.push(key));
    await again.start();
    // A read of the row refuses it with its size.
    await expect(again.getStatus('big')).rejects.toMatchObject({
      code: 'SNAPSHOT_TOO_LARGE',
      details: { id: 'big', limit: LIMIT },
    });
    // list() leaves out what it cannot read (getStatus names it), and shows the rest.
    expect((await again.list()).items.map((s) => s.id)).toEqual(['fine']);
    // Once its owner is gone, claiming it (a send) refuses it and leaves it where it is, unowned:
    // a process whose store reads that much may host it (limits may differ during a rollout).
    await sql(`UPDATE ${table} SET owner = NULL WHERE id = 'big'`);
    await expect(again.send('big', { type: 'INC' })).rejects.toMatchObject({
      code: 'SNAPSHOT_TOO_LARGE',
    });
    expect(quarantined).toEqual([]);
    expect(await sql(`SELECT id, owner FROM ${table} WHERE id = 'big'`)).toEqual([
      { id: 'big', owner: null },
    ]);
    await again.send('fine', { type: 'INC' });
    expect((await again.getStatus('fine'))?.context).toMatchObject({ count: 1 });
  });

  // Restoring it fetched the whole record (the crash the reads now avoid), then put it back for every claim to refuse.
  it('a set-aside record over the limit is listed with its size, and not put back', async () => {
    const table = freshTable();
    const registry = registryOn(table);
    await registry.start();
    await sql(
      `INSERT INTO ${table}_quarantine (id, record, reason) VALUES ('huge', $1, 'by hand')`,
      [`{${' '.repeat(LIMIT * 2)}}`],
    );
    const listed = (await registry.quarantined())?.items ?? [];
    expect(listed.map((q) => [q.id, q.bytes])).toEqual([['huge', LIMIT * 2 + 2]]);
    await registry.close();
    const store = new PostgresStore({
      connectionString: server.url,
      table,
      leaseMs: 30_000,
      maxRecordBytes: LIMIT,
    });
    await store.open();
    try {
      await expect(store.restoreSetAside(listed[0]?.key as string)).rejects.toMatchObject({
        code: 'SNAPSHOT_TOO_LARGE',
      });
    } finally {
      await store.close();
    }
    expect(await sql(`SELECT id FROM ${table}`)).toEqual([]);
  });

  it('an inbox message over the limit is reported and dropped, and later mail still arrives', async () => {
    const table = freshTable();
    const owner = registryOn(table);
    const sender = registryOn(table);
    const reported: string[] = [];
    owner.on('error', (e) => reported.push(e.code));
    await owner.start();
    await sender.start();
    await owner.spawnSingleton('counter', 'c');
    await owner.flush();
    await sql(`INSERT INTO ${table}_inbox (instance_id, sender, body) VALUES ('c', 'x', $1)`, [
      JSON.stringify({
        kind: 'event',
        key: 'k1',
        event: { type: 'INC', pad: ' '.repeat(LIMIT * 2) },
      }),
    ]);
    // A sender never posts one: refused before it is acknowledged, since no owner would read it.
    await expect(
      sender.send('c', { type: 'INC', pad: ' '.repeat(LIMIT * 2) } as never),
    ).rejects.toMatchObject({ code: 'SNAPSHOT_TOO_LARGE', details: { id: 'c', limit: LIMIT } });
    await sender.send('c', { type: 'INC' });
    await until(
      async () => (await sql(`SELECT count(*)::int AS n FROM ${table}_inbox`))[0]?.n,
      (n) => n === 0,
      'the mail to be drained',
    );
    expect(owner.get('c')?.getSnapshot().context.count).toBe(1);
    expect(reported).toContain('INVALID_EVENT');
  });
});
