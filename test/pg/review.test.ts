import { describe, expect, it, vi } from 'vitest';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { createSchema1Table, freshTable, noPg, pgRegistries, server, sql } from './helpers.js';

const { open, registryOn } = pgRegistries();

describe.skipIf(noPg)('machine versions beyond 32 bits on PostgreSQL', () => {
  // A date-stamped version (YYYYMMDDhhmm) is a positive integer the registry accepts.
  const big = 202611271200;

  it('a machine version above 2^31 starts, is written, and is taken over', async () => {
    const table = freshTable();
    const machines = { counter: { machine: counter, version: big } };
    const a = registryOn(table, machines, { durability: 'strict' });
    await a.registry.start();
    await a.registry.spawnSingleton('counter', 'c');
    await a.registry.send('c', { type: 'INC' });
    await a.registry.close();
    const b = registryOn(table, machines);
    expect((await b.registry.start()).restored).toBe(1);
    expect(b.registry.get('c')?.getSnapshot().context.count).toBe(1);
  });

  it('a schema-1 table holding a record of such a version migrates', async () => {
    const table = freshTable();
    await createSchema1Table(table);
    const { createTestRegistry } = await import('../../src/testing/index.js');
    const memory = await createTestRegistry({
      machines: { counter: { machine: counter, version: big } },
    });
    await memory.spawnSingleton('counter', 'c');
    await memory.flush();
    const text = memory.store.peek('c') as string;
    await memory.close();
    await sql(
      `INSERT INTO ${table} (id, type, status, created_at, updated_at, record) VALUES ('c', 'counter', 'running', 1, 1, $1::jsonb)`,
      [text],
    );
    const { registry } = registryOn(table, { counter: { machine: counter, version: big } });
    await registry.start();
    expect(await sql(`SELECT version FROM ${table}_schema`)).toEqual([{ version: 2 }]);
    expect(await sql(`SELECT machine_version::text AS v FROM ${table}`)).toEqual([
      { v: String(big) },
    ]);
    expect(registry.get('c')?.getSnapshot().value).toBe('active');
  });
});

describe.skipIf(noPg)('finished instances read on demand by another process', () => {
  const owner = async (table: string, id: string) =>
    (await sql<{ owner: string | null }>(`SELECT owner FROM ${table} WHERE id = $1`, [id]))[0]
      ?.owner;

  it('a retried idempotent send of the finishing event, served by another process, leaves the instance free to replace', async () => {
    const table = freshTable();
    const a = registryOn(table, { counter }, { durability: 'strict' });
    const b = registryOn(table, { counter }, { durability: 'strict' });
    await a.registry.start();
    await b.registry.start();
    await a.registry.spawnSingleton('counter', 'order');
    await a.registry.send('order', { type: 'FINISH' }, { idempotencyKey: 'k1' });
    await vi.waitFor(async () => expect(await owner(table, 'order')).toBeNull());
    // The client lost A's answer and retries through B: a repeat, so it resolves.
    await b.registry.send('order', { type: 'FINISH' }, { idempotencyKey: 'k1' });
    // A plain send is refused, as for any finished instance.
    await expect(b.registry.send('order', { type: 'INC' })).rejects.toMatchObject({
      code: 'INSTANCE_NOT_RUNNING',
    });
    // Finished instances are nobody's: B gives the lease back, so A may replace it.
    await vi.waitFor(async () => expect(await owner(table, 'order')).toBeNull());
    const replaced = await a.registry.ensureSingleton('counter', 'order', {
      ifFinished: 'replace',
    });
    expect(replaced.created).toBe(true);
    expect(await b.registry.getStatus('order')).toMatchObject({ status: 'running' });
  });
});

describe.skipIf(noPg)('a record XState cannot restore, met by a cluster process', () => {
  it('is quarantined with its reason, not left leased to a process that cannot host it', async () => {
    const table = freshTable();
    const a = registryOn(table, { counter }, { durability: 'strict' });
    await a.registry.start();
    await a.registry.spawnSingleton('counter', 'bad');
    await a.registry.spawnSingleton('counter', 'good');
    await a.registry.close();
    // A machine changed without a new version: the stored state no longer exists in it.
    await sql(
      `UPDATE ${table} SET record = replace(record, '"value":"active"', '"value":"renamed"') WHERE id = 'bad'`,
    );
    const b = registryOn(table, { counter });
    b.registry.on('error', () => {});
    const quarantined: string[] = [];
    b.registry.on('quarantined', ({ key }) => quarantined.push(key));
    await b.registry.start();
    expect(b.registry.get('good')).toBeDefined();
    expect(quarantined).toEqual(['bad']);
    expect(await sql(`SELECT id FROM ${table}_quarantine`)).toEqual([{ id: 'bad' }]);
    expect(await sql(`SELECT id FROM ${table} WHERE id = 'bad'`)).toEqual([]);
    // Listed for operators (GET /quarantine, the dashboard), with its reason.
    expect((await b.registry.quarantined())?.items).toEqual([
      expect.objectContaining({ id: 'bad', reason: expect.stringMatching(/^[A-Z_]+: /) }),
    ]);
  });
});

describe.skipIf(noPg)('instance IDs PostgreSQL text cannot hold exactly', () => {
  it('an ID with a lone surrogate is refused with INVALID_INSTANCE_ID and never aliases the row of another ID', async () => {
    const table = freshTable();
    const { registry } = registryOn(table, { counter }, { durability: 'strict' });
    await registry.start();
    // UTF-8 turns a lone surrogate into U+FFFD: these three IDs would name one row.
    const real = 'acct-\ufffd';
    await registry.spawnSingleton('counter', real);
    await registry.send(real, { type: 'INC' });
    for (const alias of ['acct-\ud800', 'acct-\udc01']) {
      await expect(registry.spawnSingleton('counter', alias)).rejects.toMatchObject({
        code: 'INVALID_INSTANCE_ID',
      });
      await expect(registry.send(alias, { type: 'INC' })).rejects.toMatchObject({
        code: 'INVALID_INSTANCE_ID',
      });
      await expect(registry.getStatus(alias)).rejects.toMatchObject({
        code: 'INVALID_INSTANCE_ID',
      });
    }
    expect((await registry.getStatus(real))?.context).toMatchObject({ count: 1 });
    // A well-formed pair (an emoji) is an ordinary ID.
    await registry.spawnSingleton('counter', 'acct-\ud83d\ude00');
    expect((await registry.getStatus('acct-\ud83d\ude00'))?.context).toMatchObject({ count: 0 });
  });
});

describe.skipIf(noPg)(
  'records in a newer record format (a rolling deploy of xstate-registry itself)',
  () => {
    it('are left for a process that reads them: not quarantined, lease released, row intact', async () => {
      const table = freshTable();
      const a = registryOn(table, { counter }, { durability: 'strict' });
      await a.registry.start();
      await a.registry.spawnSingleton('counter', 'next');
      await a.registry.close();
      // What a newer xstate-registry would write: a format this version does not know.
      await sql(
        `UPDATE ${table} SET record = regexp_replace(record, '"format":"xstate-registry/[0-9]+"', '"format":"xstate-registry/9"') WHERE id = 'next'`,
      );
      const before = await sql(`SELECT record FROM ${table} WHERE id = 'next'`);
      expect(JSON.stringify(before)).toContain('xstate-registry/9');
      const b = registryOn(table, { counter }, { takeoverIntervalMs: 50 });
      const quarantined: string[] = [];
      b.registry.on('quarantined', ({ key }) => quarantined.push(key));
      b.registry.on('error', () => {});
      await b.registry.start();
      await expect(b.registry.send('next', { type: 'INC' })).rejects.toMatchObject({
        details: { id: 'next', leftForAnotherProcess: true },
      });
      await expect(b.registry.getStatus('next')).rejects.toMatchObject({
        details: { leftForAnotherProcess: true },
      });
      expect(quarantined).toEqual([]);
      expect(await sql(`SELECT id FROM ${table}_quarantine`)).toEqual([]);
      expect(await sql(`SELECT record FROM ${table} WHERE id = 'next'`)).toEqual(before);
      // b's takeover sweep (every 50 ms) may hold the row for an instant while it
      // looks at it, and gives it back at once: the lease is never kept.
      await vi.waitFor(
        async () =>
          expect(await sql(`SELECT owner FROM ${table} WHERE id = 'next'`)).toEqual([
            { owner: null },
          ]),
        { timeout: 5000, interval: 10 },
      );
    });
  },
);

describe.skipIf(noPg)('schema migration 1 to 2 run by several processes at once', () => {
  it('four stores opening one schema-1 table at the same instant migrate it once; every row survives', async () => {
    const table = freshTable();
    await createSchema1Table(table);
    for (let i = 0; i < 50; i++) {
      await sql(
        `INSERT INTO ${table} (id, type, status, created_at, updated_at, record) VALUES ($1, 'counter', 'running', $2, $2, $3::jsonb)`,
        [`r${i}`, i, JSON.stringify({ id: `r${i}`, machineVersion: 1 + (i % 3), n: i })],
      );
    }
    const stores = Array.from(
      { length: 4 },
      () => new PostgresStore({ connectionString: server.url, table }),
    );
    open.push(...stores);
    await Promise.all(stores.map((s) => s.open()));
    expect(await sql(`SELECT version FROM ${table}_schema`)).toEqual([{ version: 2 }]);
    const rows = await sql<{ id: string; v: string; n: number }>(
      `SELECT id, machine_version AS v, (record::jsonb->>'n')::int AS n FROM ${table} ORDER BY created_at`,
    );
    expect(rows).toHaveLength(50);
    expect(rows.every((r, i) => r.id === `r${i}` && r.n === i && r.v === String(1 + (i % 3)))).toBe(
      true,
    );
  });
});
