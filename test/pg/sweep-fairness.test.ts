/**
 * The takeover sweep takes up to 100 orphans at a time, longest unheld first.
 * A row this process cannot host (written by a newer xstate-registry, or over
 * its maxRecordBytes) is claimed and given back at once, and given back it
 * used to sort first again (no lease at all): with 100 of them, every sweep
 * took the same 100 and gave them back, and no other orphan was ever taken
 * over (a rollback to an older deploy, say, left every dead process's
 * instances unhosted). A row given back now counts as unheld from that moment,
 * so the sweeps take turns through everything.
 */
import { describe, expect, it } from 'vitest';
import { machines } from '../fixtures.js';
import { freshTable, noPg, pgRegistries, sql, until } from './helpers.js';

const { registryOn } = pgRegistries();

describe.skipIf(noPg)('PostgreSQL: the takeover sweep', () => {
  it('reaches every orphan, however many rows it has to give back first', async () => {
    const table = freshTable();
    const first = registryOn(table, machines).registry;
    await first.start();
    const newer = Array.from({ length: 101 }, (_, i) => `newer-${String(i).padStart(3, '0')}`);
    await Promise.all([...newer, 'orphan'].map((id) => first.spawnSingleton('counter', id)));
    await first.send('orphan', { type: 'INC' });
    await first.close();
    // 101 rows from a newer deploy, released by it; one ordinary orphan whose owner died.
    await sql(
      `UPDATE ${table} SET record = replace(record, '"format":"xstate-registry/', '"format":"xstate-registry/9')
         WHERE id LIKE 'newer-%'`,
    );
    await sql(
      `UPDATE ${table} SET owner = 'dead', lease_expires_at = now() - interval '1 minute' WHERE id = 'orphan'`,
    );
    const before = await sql<{ id: string; record: string }>(
      `SELECT id, record FROM ${table} WHERE id LIKE 'newer-%' ORDER BY id`,
    );
    expect(before.every((r) => r.record.includes('"format":"xstate-registry/9'))).toBe(true);

    const { registry, store } = registryOn(table, machines, { takeoverIntervalMs: 50 });
    const quarantined: string[] = [];
    registry.on('quarantined', ({ key }) => quarantined.push(key));
    await registry.start();
    await until(
      () => sql<{ owner: string | null }>(`SELECT owner FROM ${table} WHERE id = 'orphan'`),
      (rows) => rows[0]?.owner === store.ownerId,
      'a sweep to take the orphan over',
      10_000,
    );
    expect((await registry.getStatus('orphan'))?.context).toMatchObject({ count: 1 });
    await registry.send('orphan', { type: 'INC' });
    expect((await registry.getStatus('orphan'))?.context).toMatchObject({ count: 2 });
    // The newer rows are left as they were, for a process that reads them.
    expect(quarantined).toEqual([]);
    expect(
      await sql(`SELECT id, record FROM ${table} WHERE id LIKE 'newer-%' ORDER BY id`),
    ).toEqual(before);
  });
});
