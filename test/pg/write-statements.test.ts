import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/postgres.js';
import { freshTable, noPg, server, sql, until } from './helpers.js';

// A write goes out alone (one fenced UPDATE) or batched with the other writes
// of its turn (one multi-row UPDATE). Both statements must keep the same
// fence, release the lease on a final record, take it again on a replacement,
// and announce a first record: each case runs through both.

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

async function storeOn(table: string) {
  const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
  open.push(store);
  await store.open();
  return store;
}

const meta = (status: string) => ({
  type: 'counter',
  status,
  machineVersion: 1,
  createdAt: 1,
  updatedAt: 2,
});

/** Writes `ids` to `store` alone (one after the other) or batched (in one turn). */
async function writeAll(
  store: PostgresStore,
  ids: string[],
  batched: boolean,
  status = 'running',
): Promise<Array<'ok' | string>> {
  const one = (id: string) =>
    store.write(id, JSON.stringify({ id, status }), meta(status)).then(
      () => 'ok',
      (err: { code?: string }) => err.code ?? 'error',
    );
  if (batched) return Promise.all(ids.map(one));
  const results: string[] = [];
  for (const id of ids) results.push(await one(id));
  return results;
}

const rowsOf = (table: string) =>
  sql<{ id: string; owner: string | null; leased: boolean; record: string }>(
    `SELECT id, owner, lease_expires_at IS NOT NULL AS leased, record FROM ${table} ORDER BY id`,
  );

describe.skipIf(noPg)('PostgresStore writes, alone and batched', () => {
  it('both statements, prepared on one connection, for the longest table name allowed (41 characters)', async () => {
    // Found by review: PostgreSQL keeps 63 characters of a statement's name,
    // and the one-row statement's name, the batch's plus a suffix, lost it:
    // "prepared statement ... already exists".
    const table = `${freshTable()}_`.padEnd(41, 'x');
    expect(table).toHaveLength(41);
    const pool = new pg.Pool({ connectionString: server.url, max: 1 });
    open.push({ close: () => pool.end() });
    const store = new PostgresStore({ pool, table, leaseMs: 30_000 });
    open.unshift(store);
    await store.open();
    for (const id of ['a', 'b', 'c']) await store.claim(id);
    expect(await writeAll(store, ['b', 'c'], true)).toEqual(['ok', 'ok']);
    expect(await writeAll(store, ['a'], false)).toEqual(['ok']);
    expect(await writeAll(store, ['a', 'b'], false)).toEqual(['ok', 'ok']);
    expect(await writeAll(store, ['a', 'b', 'c'], true)).toEqual(['ok', 'ok', 'ok']);
  });

  for (const batched of [false, true]) {
    const how = batched ? 'batched' : 'alone';

    it(`${how}: a write whose fence no longer holds is refused, and only that one`, async () => {
      const table = freshTable();
      const store = await storeOn(table);
      for (const id of ['a', 'b', 'c']) await store.claim(id);
      // Taken over: a newer epoch; and a row whose owner changed under the same epoch.
      await sql(`UPDATE ${table} SET epoch = epoch + 1 WHERE id = 'a'`);
      await sql(`UPDATE ${table} SET owner = 'another-process' WHERE id = 'b'`);
      expect(await writeAll(store, ['a', 'b', 'c'], batched)).toEqual(['FENCED', 'FENCED', 'ok']);
      const rows = await rowsOf(table);
      expect(rows.map((r) => [r.id, r.owner, r.record])).toEqual([
        ['a', store.ownerId, null],
        ['b', 'another-process', null],
        ['c', store.ownerId, JSON.stringify({ id: 'c', status: 'running' })],
      ]);
    });

    it(`${how}: a final record gives the lease up, and a replacement takes it again`, async () => {
      const table = freshTable();
      const store = await storeOn(table);
      for (const id of ['a', 'b']) await store.claim(id);
      expect(await writeAll(store, ['a', 'b'], batched, 'done')).toEqual(['ok', 'ok']);
      expect((await rowsOf(table)).map((r) => [r.id, r.owner, r.leased])).toEqual([
        ['a', null, false],
        ['b', null, false],
      ]);
      expect(await writeAll(store, ['a', 'b'], batched, 'running')).toEqual(['ok', 'ok']);
      expect((await rowsOf(table)).map((r) => [r.id, r.owner, r.leased])).toEqual([
        ['a', store.ownerId, true],
        ['b', store.ownerId, true],
      ]);
    });

    it(`${how}: the first record of a claimed row is announced on the inbox channel`, async () => {
      const table = freshTable();
      const store = await storeOn(table);
      const listener = new pg.Client({ connectionString: server.url });
      await listener.connect();
      open.push({ close: () => listener.end() });
      const heard: string[] = [];
      listener.on('notification', (n) => {
        if (n.payload?.startsWith('record:')) heard.push(n.payload);
      });
      await listener.query(`LISTEN ${table}_inbox`);
      for (const id of ['a', 'b']) await store.claim(id);
      expect(await writeAll(store, ['a', 'b'], batched)).toEqual(['ok', 'ok']);
      await until(
        async () => [...heard].sort(),
        (h) => h.length === 2,
        'the notices of both first records',
      );
      expect([...heard].sort()).toEqual(['record:a', 'record:b']);
    });
  }
});
