import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { createHttpHandler, toNodeListener } from '../../src/http/index.js';
import type { Registry, RegistryError } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { createSchema1Table, freshTable, noPg, pgRegistries, server, sql } from './helpers.js';

/** Keeps its input as its context, whatever it holds. */
const echo = setup({
  types: { context: {} as Record<string, unknown>, input: {} as any },
}).createMachine({
  id: 'echo',
  context: ({ input }) => ({ ...(input ?? {}) }),
});

const { open, registryOn } = pgRegistries();

async function listen(registry: Registry) {
  const http = createServer(toNodeListener(createHttpHandler(registry)));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  open.push({
    close: () => {
      http.closeAllConnections();
      return new Promise((r) => http.close(() => r()));
    },
  });
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const post = (path: string, body: unknown) =>
    fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return Object.assign(post, { base });
}

describe.skipIf(noPg)('PostgreSQL stores every record the encoding produces', () => {
  it('NUL, lone surrogates and key order come back exactly after a restart (strict)', async () => {
    const table = freshTable();
    const input = { zeta: 'a\u0000b', alpha: '\ud800 alone', mid: ['\u0000'], n: 1 };
    const first = registryOn(table, { echo }, { durability: 'strict' });
    await first.registry.start();
    await first.registry.spawnSingleton('echo', 'e', { input });
    await first.registry.close();
    const second = registryOn(table, { echo });
    await second.registry.start();
    const context = second.registry.get('e')?.getSnapshot().context;
    expect(context).toEqual(input);
    expect(Object.keys(context)).toEqual(['zeta', 'alpha', 'mid', 'n']);
  });

  it('a text PostgreSQL cannot hold (a raw NUL character) is refused with NOT_SERIALIZABLE, the row untouched', async () => {
    const table = freshTable();
    const store = new PostgresStore({ connectionString: server.url, table });
    await store.open();
    open.push(store);
    await store.claim('x');
    const meta = { type: 't', status: 'running', machineVersion: 1, createdAt: 1, updatedAt: 1 };
    await store.write('x', '{"v":1}', meta);
    await expect(store.write('x', '{"v":"\0"}', meta)).rejects.toMatchObject({
      code: 'NOT_SERIALIZABLE',
    });
    expect(await store.read('x')).toBe('{"v":1}');
  });

  it('over HTTP, a strict create with a NUL in its input answers 201 only once it is durable', async () => {
    const table = freshTable();
    const { registry } = registryOn(table, { echo }, { durability: 'strict' });
    await registry.start();
    const post = await listen(registry);
    const res = await post('/instances/echo/with-nul', { note: 'before\u0000after' });
    expect(res.status).toBe(201);
    const other = registryOn(table, { echo });
    await other.registry.start();
    expect(await other.registry.getStatus('with-nul')).toMatchObject({
      status: 'running',
      context: { note: 'before\u0000after' },
    });
    const [row] = await sql<{ record: string }>(
      `SELECT record FROM ${table} WHERE id = 'with-nul'`,
    );
    expect(JSON.parse(row?.record ?? '{}').snapshot.context.note).toBe('before\u0000after');
  });

  it('over HTTP, a write that cannot succeed is refused before 201 (strict) and reported (relaxed)', async () => {
    const table = freshTable();
    const strict = registryOn(table, { echo }, { durability: 'strict' });
    await strict.registry.start();
    // The database refuses every write of these rows, as a constraint or a full disk would
    // (a new instance's first record is inserted with its claim, so inserts too).
    await sql(`CREATE FUNCTION ${table}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id LIKE 'doomed%' AND NEW.record IS NOT NULL THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$`);
    await sql(
      `CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_refuse()`,
    );
    const errors: RegistryError[] = [];
    strict.registry.on('error', (e) => errors.push(e));
    const post = await listen(strict.registry);
    const res = await post('/instances/echo/doomed-1', { a: 1 });
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('PERSIST_FAILED');

    const relaxed = registryOn(table, { echo });
    await relaxed.registry.start();
    const relaxedErrors: RegistryError[] = [];
    relaxed.registry.on('error', (e) => relaxedErrors.push(e));
    const postRelaxed = await listen(relaxed.registry);
    expect((await postRelaxed('/instances/echo/doomed-2', { a: 1 })).status).toBe(201);
    await expect(relaxed.registry.flush()).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
    expect(relaxedErrors.map((e) => e.code)).toContain('PERSIST_FAILED');
    await sql(`DROP TRIGGER refuse ON ${table}`);
    await relaxed.registry.flush().catch(() => {}); // it may be in backoff: the retry follows
  });
});

describe.skipIf(noPg)('schema migration', () => {
  it('migrates a schema-1 table (records in jsonb) to text in place; its instances resume', async () => {
    const { createTestRegistry } = await import('../../src/testing/index.js');
    const memory = await createTestRegistry({ machines: { counter } });
    await memory.spawnSingleton('counter', 'old');
    await memory.send('old', { type: 'INC' });
    await memory.flush();
    const text = memory.store.peek('old') as string;
    await memory.close();
    const table = freshTable();
    await createSchema1Table(table);
    const r = JSON.parse(text);
    await sql(
      `INSERT INTO ${table} (id, type, status, created_at, updated_at, record) VALUES ('old', 'counter', 'running', $1, $2, $3::jsonb)`,
      [r.createdAt, r.updatedAt, text],
    );
    const { registry } = registryOn(table, { counter });
    expect((await registry.start()).restored).toBe(1);
    expect(registry.get('old')?.getSnapshot().context.count).toBe(1);
    const columns = await sql<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 AND column_name IN ('record', 'machine_version') ORDER BY column_name`,
      [table],
    );
    expect(columns).toEqual([
      { column_name: 'machine_version', data_type: 'bigint' },
      { column_name: 'record', data_type: 'text' },
    ]);
    expect(await sql(`SELECT version FROM ${table}_schema`)).toEqual([{ version: 2 }]);
    // bigint: node-postgres returns it as a string.
    expect(await sql(`SELECT machine_version FROM ${table}`)).toEqual([{ machine_version: '1' }]);
  });
});

describe.skipIf(noPg)('records this process cannot decode are left for one that can', () => {
  const v2 = {
    counter: { machine: counter, version: 2, migrate: (s: unknown) => s },
    beacon: counter,
  };
  const v1 = { counter };

  it('not hosted, not quarantined, lease released; getStatus and list answer from the row', async () => {
    const table = freshTable();
    const newer = registryOn(table, v2, { durability: 'strict' });
    await newer.registry.start();
    await newer.registry.spawnSingleton('counter', 'c');
    await newer.registry.send('c', { type: 'INC' });
    await newer.registry.spawnSingleton('beacon', 'b');
    await newer.registry.send('b', { type: 'INC' });
    await newer.registry.send('b', { type: 'INC' });
    await newer.registry.close();
    const before = await sql<{ id: string; record: string }>(
      `SELECT id, record FROM ${table} ORDER BY id`,
    );

    const older = registryOn(table, v1, { takeoverIntervalMs: 50 });
    const quarantined: string[] = [];
    older.registry.on('quarantined', ({ key }) => quarantined.push(key));
    older.registry.on('error', () => {});
    const summary = await older.registry.start();
    expect(summary.restored).toBe(0);
    expect(older.registry.get('c')).toBeUndefined();
    await expect(older.registry.send('c', { type: 'INC' })).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
      details: { id: 'c', machineVersion: 2 },
    });
    await expect(older.registry.send('b', { type: 'INC' })).rejects.toMatchObject({
      code: 'UNKNOWN_MACHINE',
      details: { id: 'b', type: 'beacon' },
    });
    await expect(older.registry.spawnSingleton('counter', 'c')).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
    });
    expect(await older.registry.getStatus('c')).toMatchObject({
      type: 'counter',
      status: 'running',
      context: { count: 1 },
    });
    expect(await older.registry.getStatus('b')).toMatchObject({
      type: 'beacon',
      status: 'running',
      context: { count: 2 },
    });
    const page = await older.registry.list({ status: 'running' });
    expect(page.items.map((i) => [i.id, (i.context as { count: number }).count])).toEqual([
      ['c', 1],
      ['b', 2],
    ]);
    expect(quarantined).toEqual([]);
    expect(await sql(`SELECT id FROM ${table}_quarantine`)).toEqual([]);
    const rows = await sql<{ id: string; record: string; owner: string | null }>(
      `SELECT id, record, owner FROM ${table} ORDER BY id`,
    );
    expect(rows.map(({ id, record }) => ({ id, record }))).toEqual(before);
    expect(rows.every((r) => r.owner === null)).toBe(true);

    // A process that has both types and the newer version takes them back, intact.
    const back = registryOn(table, v2);
    expect((await back.registry.start()).restored).toBe(2);
    expect(back.registry.get('c')?.getSnapshot().context.count).toBe(1);
    expect(back.registry.get('b')?.getSnapshot().context.count).toBe(2);
  });
});

describe.skipIf(noPg)('idempotency keys on PostgreSQL', () => {
  it('a retried POST /events with its Idempotency-Key after a 503 applies once, and is known to the next owner', async () => {
    const table = freshTable();
    const a = registryOn(table, { counter }, { durability: 'strict' });
    await a.registry.start();
    a.registry.on('error', () => {});
    await a.registry.spawnSingleton('counter', 'acct');
    const post = await listen(a.registry);
    const send = (key: string) =>
      fetch(`${post.base}/instances/acct/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ type: 'INC' }),
      });
    // The database refuses writes of this row for a while (fault injection by trigger).
    await sql(`CREATE FUNCTION ${table}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'disk full (test)'; END $$`);
    await sql(
      `CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_refuse()`,
    );
    expect((await send('pay-1')).status).toBe(503);
    expect((await send('pay-1')).status).toBe(503);
    expect(a.registry.get('acct')?.getSnapshot().context.count).toBe(1);
    await sql(`DROP TRIGGER refuse ON ${table}`);
    expect((await send('pay-1')).status).toBe(202);
    const count = async () =>
      (
        await sql<{ count: number }>(
          `SELECT (record::jsonb->'snapshot'->'context'->>'count')::int AS count FROM ${table} WHERE id = 'acct'`,
        )
      )[0]?.count;
    expect(await count()).toBe(1);
    await a.registry.close();
    // Another process takes the instance over: the key came with it.
    const b = registryOn(table, { counter }, { durability: 'strict' });
    await b.registry.start();
    await b.registry.send('acct', { type: 'INC' }, { idempotencyKey: 'pay-1' });
    await b.registry.send('acct', { type: 'INC' }, { idempotencyKey: 'pay-2' });
    expect(await count()).toBe(2);
  });
});
