import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { freshTable, noPg, server, sql, until } from './helpers.js';
import { type Worker, workerPool } from './workers.js';

const pool = workerPool(server.url);
async function start(table: string, profile: 'v1' | 'v2'): Promise<Worker> {
  const [w] = await pool(1, table, 'strict', profile);
  return w as Worker;
}

const rows = (table: string) =>
  sql<{ id: string; record: string; owner: string | null; expired: boolean }>(
    `SELECT id, record, owner, coalesce(lease_expires_at < now(), true) AS expired FROM ${table} ORDER BY id`,
  );

describe.skipIf(noPg)('a rolling deploy on PostgreSQL', () => {
  it("an old process's takeover sweeps leave the new process's released and orphaned instances intact", async () => {
    const table = freshTable();
    // The old deploy is up first and sweeps for orphans every 200 ms throughout.
    const old = await start(table, 'v1');
    const [n1, n2] = [await start(table, 'v2'), await start(table, 'v2')];
    const expected = new Map<string, { type: string; count: number }>();
    const create = async (w: Worker, type: string, id: string, count: number) => {
      expect((await w.call({ op: 'ensure', type, id })).created).toBe(true);
      for (let i = 0; i < count; i++)
        expect((await w.call({ op: 'send', id, event: { type: 'INC' } })).ok).toBe(true);
      expected.set(id, { type, count });
    };
    // 15 instances: counters of version 2, and beacons, a type the old deploy lacks.
    for (let i = 0; i < 5; i++) await create(n1, 'counter', `c${i}`, i + 1);
    for (let i = 0; i < 3; i++) await create(n1, 'beacon', `b${i}`, i + 1);
    for (let i = 5; i < 10; i++) await create(n2, 'counter', `c${i}`, i + 1);
    for (let i = 3; i < 5; i++) await create(n2, 'beacon', `b${i}`, i + 1);
    // n1 shuts down (its leases released at once); n2 dies (its leases expire).
    expect((await n1.call({ op: 'close' })).ok).toBe(true);
    n2.signal('SIGKILL');
    await n2.exited;
    const before = await until(
      () => rows(table),
      (r) => r.length === 15 && r.every((x) => x.owner === null || x.expired),
      "n2's leases to expire",
    );

    // On demand, the old process refuses them without touching them...
    for (const [id, { type }] of expected) {
      const sent = await old.call({ op: 'send', id, event: { type: 'INC' } });
      expect(sent).toMatchObject({
        ok: false,
        code: type === 'beacon' ? 'UNKNOWN_MACHINE' : 'MIGRATION_FAILED',
        details: { leftForAnotherProcess: true },
      });
      // ...and still answers for them from the row.
      const status = await old.call({ op: 'status', id });
      expect(status.status).toMatchObject({
        id,
        type,
        status: 'running',
        context: { count: expected.get(id)?.count },
      });
      expect(status.local).toBe(false);
    }
    const listed = await old.call({ op: 'list' });
    expect(listed.items.map((i: { id: string }) => i.id).sort()).toEqual(
      [...expected.keys()].sort(),
    );
    // Let the old process's sweeps (every 200 ms) pass over them many times.
    await sleep(2000);
    expect((await old.call({ op: 'quarantined' })).quarantined).toEqual([]);
    expect(await sql(`SELECT id FROM ${table}_quarantine`)).toEqual([]);
    const after = await rows(table);
    expect(after.map((r) => [r.id, r.record])).toEqual(before.map((r) => [r.id, r.record]));
    expect(after.every((r) => r.owner === null || r.expired)).toBe(true);

    // The new deploy comes up and takes every one of them back, intact.
    const n3 = await start(table, 'v2');
    // Its start() took over every orphan it can decode: all 15.
    for (const [id, { type, count }] of expected) {
      const status = await n3.call({ op: 'status', id });
      expect(status).toMatchObject({
        local: true,
        status: { type, status: 'running', context: { count } },
      });
      expect((await n3.call({ op: 'send', id, event: { type: 'INC' } })).ok).toBe(true);
      expect((await n3.call({ op: 'status', id })).status.context.count).toBe(count + 1);
    }
    expect((await n3.call({ op: 'quarantined' })).quarantined).toEqual([]);
  }, 120_000);
});
