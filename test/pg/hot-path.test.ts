import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assign, setup } from 'xstate';
import { createRegistry, type Registry, RegistryError } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter, entries, reminder } from '../fixtures.js';
import { freshTable, noPg, server, sql } from './helpers.js';

/**
 * Instrumentation, not a mock: every statement still runs on the real server,
 * alone in its own transaction as it would in autocommit, and the pool notes
 * whether that transaction was given a transaction ID. Only a transaction with
 * one writes a commit record (and waits for its flush); a read-only one does not.
 */
class CountingPool extends pg.Pool {
  statements = 0;
  commits = 0;
  inFlight = 0;
  readonly texts: string[] = [];

  reset(): void {
    this.statements = 0;
    this.commits = 0;
    this.texts.length = 0;
  }

  // pg.Pool's query has a dozen overloads; the store calls it as (text, values).
  override async query(text: any, values?: any): Promise<any> {
    this.inFlight++;
    const client = await super.connect();
    try {
      await client.query('BEGIN');
      const result = await client.query(text, values);
      const { rows } = await client.query('SELECT pg_current_xact_id_if_assigned() AS xid');
      await client.query('COMMIT');
      this.statements++;
      this.texts.push(String(text));
      if ((rows[0] as { xid: unknown }).xid !== null) this.commits++;
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      this.statements++;
      throw err;
    } finally {
      client.release();
      this.inFlight--;
    }
  }
}

/** The benchmark's kind of machine: its start runs no action, so its first record is known before it starts. */
const plain = setup({
  types: { context: {} as { count: number }, events: {} as { type: 'INC' } | { type: 'FINISH' } },
}).createMachine({
  id: 'plain',
  context: { count: 0 },
  initial: 'active',
  states: {
    active: {
      on: {
        INC: { actions: assign({ count: ({ context }) => context.count + 1 }) },
        FINISH: 'done',
      },
    },
    done: { type: 'final' },
  },
});

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

function counted(table: string, extra: Record<string, unknown> = {}) {
  // Named, so that lock waits can be told from other test files' (two run at once).
  const pool = new CountingPool({ connectionString: server.url, max: 4, application_name: table });
  const store = new PostgresStore({ pool, table, leaseMs: 30_000 });
  const registry = createRegistry({
    machines: { plain, counter, reminder },
    store,
    takeoverIntervalMs: 60_000,
    ...extra,
  }) as unknown as Registry;
  open.push(registry, { close: () => pool.end() });
  return { registry, store, pool };
}

function plainStore(table: string) {
  const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
  open.push(store);
  return store;
}

const rowOf = async (table: string, id: string) =>
  (
    await sql<{ owner: string | null; epoch: string; record: string | null; xmax: string }>(
      `SELECT owner, epoch, record, xmax::text AS xmax FROM ${table} WHERE id = $1`,
      [id],
    )
  )[0];

const countOf = (record: string | null | undefined) =>
  (JSON.parse(record ?? 'null') as { snapshot: { context: { count: number } } }).snapshot.context
    .count;

/**
 * Resolves once a connection of the pool named `app` waits on a lock
 * (PostgreSQL reports it; no clock involved). Only that pool's: another test
 * file may be waiting on locks of its own meanwhile.
 */
async function someoneWaitsOnALock(
  stop: { done: boolean },
  app: string,
): Promise<'blocked' | undefined> {
  while (!stop.done) {
    const waiting = await sql(
      `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = $1`,
      [app],
    );
    if (waiting.length > 0) return 'blocked';
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

describe.skipIf(noPg)('the PostgreSQL hot path', () => {
  it('refuses an ID owned by another live process in one statement, with no commit and no row lock', async () => {
    const table = freshTable();
    const owner = plainStore(table);
    await owner.open();
    expect((await owner.claim('held')).owned).toBe(true);
    const { store, pool } = counted(table);
    await store.open();
    const before = await rowOf(table, 'held');

    pool.reset();
    const refusal = await store.claim('held');
    expect(refusal).toMatchObject({ owned: false, owner: owner.ownerId });
    expect(refusal.owned === false && refusal.expiresAt).toBeGreaterThan(Date.now());
    expect(pool.statements).toBe(1);
    expect(pool.commits).toBe(0);
    // A lock leaves its locker's transaction ID in the row's xmax.
    expect((await rowOf(table, 'held'))?.xmax).toBe(before?.xmax);

    // Another transaction holds the row: refusals must not wait for it.
    const holder = new pg.Client({ connectionString: server.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM ${table} WHERE id = $1 FOR UPDATE NOWAIT`, ['held']);
      const stop = { done: false };
      const refusals = Promise.all([1, 2, 3].map(() => store.claim('held'))).then(() => 'refused');
      const outcome = await Promise.race([refusals, someoneWaitsOnALock(stop, table)]);
      stop.done = true;
      await holder.query('ROLLBACK');
      await refusals;
      expect(outcome).toBe('refused');
    } finally {
      await holder.end();
    }
  });

  it('a refused spawnSingleton runs no entry action and names the owner', async () => {
    const table = freshTable();
    const owner = plainStore(table);
    await owner.open();
    await owner.claim('elsewhere');
    const { registry, pool } = counted(table, { durability: 'strict' });
    await registry.start();
    pool.reset();
    const err = await registry.spawnSingleton('counter', 'elsewhere').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('OWNED_ELSEWHERE');
    expect((err as RegistryError).details.owner).toBe(owner.ownerId);
    expect(entries.get('elsewhere')).toBeUndefined();
    // Issue 14: a process that does not host an ID reads its row for the stored
    // state to hand back; with no record yet (being created there) it waits for
    // the owner's notification that the first record landed, up to a bound, then
    // asks once more and refuses: two claims and two reads. No commit.
    expect({ statements: pool.statements, commits: pool.commits }).toEqual({
      statements: 4,
      commits: 0,
    });
  });

  it('a spawnSingleton on an ID being created elsewhere wakes when its first record lands, without polling', async () => {
    // The record the owner will write, made by a registry on another table.
    const donor = freshTable();
    const d = counted(donor);
    await d.registry.start();
    await d.registry.spawnSingleton('counter', 'late', { input: { label: 'landed' } });
    await d.registry.flush();
    const [row] = await sql<{
      record: string;
      created_at: string;
      updated_at: string;
      machine_version: string;
    }>(`SELECT record, created_at, updated_at, machine_version FROM ${donor} WHERE id = 'late'`);
    const table = freshTable();
    const owner = plainStore(table);
    await owner.open();
    await owner.claim('late');
    const { registry, pool } = counted(table, { durability: 'strict' });
    await registry.start();
    pool.reset();
    const spawning = registry.spawnSingleton('counter', 'late');
    // Refused and read (no record yet): now it waits, and asks nothing while it does.
    await vi.waitFor(() => expect(pool.statements).toBe(2), { timeout: 10_000, interval: 5 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pool.statements).toBe(2);
    await owner.write('late', row?.record as string, {
      type: 'counter',
      status: 'running',
      machineVersion: Number(row?.machine_version),
      createdAt: Number(row?.created_at),
      updatedAt: Number(row?.updated_at),
    });
    const actor = await spawning;
    expect(actor.getSnapshot().context).toEqual({ count: 0, label: 'landed' });
    expect(registry.get('late')).toBeUndefined();
    // Woken by the owner's notification: one more claim and read.
    expect({ statements: pool.statements, commits: pool.commits }).toEqual({
      statements: 4,
      commits: 0,
    });
  });

  it('a waitFor on an instance hosted elsewhere wakes when its owner applies mail, without polling', async () => {
    const table = freshTable();
    const a = counted(table);
    await a.registry.start();
    await a.registry.spawnSingleton('plain', 'w');
    await a.registry.flush();
    const b = counted(table);
    await b.registry.start();
    b.pool.reset();
    const waiting = b.registry.waitFor('w', (s) => (s.context as { count: number }).count === 1, {
      type: 'plain',
    });
    // A refused claim and one read of the row, then it waits, and reads nothing while nothing changes.
    await vi.waitFor(() => expect(b.pool.statements).toBe(2), { timeout: 10_000, interval: 5 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(b.pool.statements).toBe(2);
    await b.registry.send('w', { type: 'INC' });
    expect(await waiting).toMatchObject({ status: 'running', context: { count: 1 } });
  });

  it('a stop mailed to an owner that never answers ends in a TIMEOUT naming the instance', async () => {
    const donor = freshTable();
    const d = counted(donor);
    await d.registry.start();
    await d.registry.spawnSingleton('plain', 'silent');
    await d.registry.flush();
    const [row] = await sql<{ record: string; created_at: string; updated_at: string }>(
      `SELECT record, created_at, updated_at FROM ${donor} WHERE id = 'silent'`,
    );
    const table = freshTable();
    // Holds the lease (renewing it) but applies no mail: a hung owner.
    const owner = plainStore(table);
    await owner.open();
    await owner.claim('silent');
    await owner.write('silent', row?.record as string, {
      type: 'plain',
      status: 'running',
      machineVersion: 1,
      createdAt: Number(row?.created_at),
      updatedAt: Number(row?.updated_at),
    });
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 300 });
    const b = createRegistry({ machines: { plain }, store, takeoverIntervalMs: 100 });
    open.push(b);
    await b.start();
    const err = await b.stop('silent').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('TIMEOUT');
    expect((err as RegistryError).details).toMatchObject({ id: 'silent' });
    expect((err as RegistryError).message).toMatch(/stop of instance 'silent'/);
    // The request is durable: it waits in the inbox for whoever hosts the instance.
    expect(await sql(`SELECT instance_id FROM ${table}_inbox`)).toEqual([
      { instance_id: 'silent' },
    ]);
  }, 30_000);

  it('a new instance is claimed and stored in one statement and one commit (strict)', async () => {
    const table = freshTable();
    const { registry, store, pool } = counted(table, { durability: 'strict' });
    await registry.start();
    pool.reset();
    await registry.spawnSingleton('plain', 'n1');
    expect({ statements: pool.statements, commits: pool.commits }).toEqual({
      statements: 1,
      commits: 1,
    });
    const row = await rowOf(table, 'n1');
    expect(row?.owner).toBe(store.ownerId);
    expect(countOf(row?.record)).toBe(0);
    // And nothing is left to write: the record in the row is the actor's state.
    await registry.flush();
    expect(pool.statements).toBe(1);
    await registry.send('n1', { type: 'INC' });
    await registry.flush();
    expect(countOf((await rowOf(table, 'n1'))?.record)).toBe(1);
  });

  it('an actor whose start runs something is claimed first, started after, and its record keeps its timers', async () => {
    const table = freshTable();
    const { registry, pool } = counted(table, { durability: 'strict' });
    await registry.start();
    pool.reset();
    await registry.spawnSingleton('counter', 'with-entry');
    expect(entries.get('with-entry')).toBe(1);
    await registry.spawnSingleton('reminder', 'with-timers');
    // Claim, then the first record: the state start() left is not known before it runs.
    expect(pool.commits).toBe(4);
    const record = JSON.parse((await rowOf(table, 'with-timers'))?.record ?? '{}') as {
      timers: unknown[];
    };
    expect(record.timers.length).toBeGreaterThan(0);
  });

  it('writes the changes of one tick to 50 instances in one statement', async () => {
    const table = freshTable();
    const { registry, pool } = counted(table);
    await registry.start();
    const ids = Array.from({ length: 50 }, (_, i) => `b${i}`);
    for (const id of ids) await registry.spawnSingleton('plain', id);
    await registry.flush();
    pool.reset();
    for (const id of ids) void registry.send(id, { type: 'INC' });
    await registry.flush();
    expect({ statements: pool.statements, commits: pool.commits }).toEqual({
      statements: 1,
      commits: 1,
    });
    const rows = await sql<{ record: string }>(`SELECT record FROM ${table} ORDER BY id`);
    expect(rows.map((r) => countOf(r.record))).toEqual(ids.map(() => 1));
  });

  it('a fenced row in a batch fails only its own instance', async () => {
    const table = freshTable();
    const { registry } = counted(table);
    await registry.start();
    const ids = Array.from({ length: 20 }, (_, i) => `f${i}`);
    for (const id of ids) await registry.spawnSingleton('plain', id);
    await registry.flush();
    // Another process took f7 over meanwhile.
    await sql(
      `UPDATE ${table} SET owner = 'intruder', epoch = epoch + 1, lease_expires_at = now() + interval '1 hour' WHERE id = 'f7'`,
    );
    for (const id of ids) void registry.send(id, { type: 'INC' });
    const err = await registry.flush().catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('FENCED');
    expect((err as RegistryError).details.ids).toEqual(['f7']);
    const rows = await sql<{ id: string; owner: string; record: string }>(
      `SELECT id, owner, record FROM ${table}`,
    );
    for (const row of rows) {
      if (row.id === 'f7') {
        expect(row.owner).toBe('intruder');
        expect(countOf(row.record)).toBe(0);
      } else expect(countOf(row.record)).toBe(1);
    }
    expect(rows).toHaveLength(20);
  });

  it('a row the database refuses fails only its own instance, not the others written with it', async () => {
    const table = freshTable();
    const { registry } = counted(table);
    await registry.start();
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    for (const id of ids) await registry.spawnSingleton('plain', id);
    await registry.flush();
    // The database refuses every write of p3's row, as a constraint would.
    await sql(`CREATE FUNCTION ${table}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id = 'p3' THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$`);
    await sql(
      `CREATE TRIGGER refuse BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_refuse()`,
    );
    for (const id of ids) void registry.send(id, { type: 'INC' });
    const err = await registry.flush().catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('PERSIST_FAILED');
    expect((err as RegistryError).details.ids).toEqual(['p3']);
    const rows = await sql<{ id: string; record: string }>(`SELECT id, record FROM ${table}`);
    for (const row of rows) expect(countOf(row.record)).toBe(row.id === 'p3' ? 0 : 1);
    await sql(`DROP TRIGGER refuse ON ${table}`);
    await registry.flush();
    expect(countOf((await rowOf(table, 'p3'))?.record)).toBe(1);
  });

  it('finishing takes one statement and one commit, and frees the lease in it', async () => {
    const table = freshTable();
    const { registry, pool } = counted(table, { durability: 'strict' });
    await registry.start();
    await registry.spawnSingleton('plain', 'fin');
    await registry.flush();
    pool.reset();
    await registry.send('fin', { type: 'FINISH' });
    // The lease is free as soon as the finishing write is durable.
    expect((await rowOf(table, 'fin'))?.owner).toBeNull();
    // Once this process has forgotten the instance, nothing more was sent.
    await vi.waitFor(() => {
      expect(registry.stats().instances).toBe(0);
      expect(pool.inFlight).toBe(0);
    });
    expect({ statements: pool.statements, commits: pool.commits }).toEqual({
      statements: 1,
      commits: 1,
    });
    const status = await registry.getStatus('fin');
    expect(status?.status).toBe('done');
  });

  it('a finished instance can still be purged and replaced by its old host', async () => {
    const table = freshTable();
    const { registry } = counted(table, { durability: 'strict' });
    await registry.start();
    await registry.spawnSingleton('plain', 'again');
    await registry.send('again', { type: 'FINISH' });
    const replaced = await registry.spawnSingleton('plain', 'again', { ifFinished: 'replace' });
    expect(replaced.getSnapshot().value).toBe('active');
    await registry.flush();
    expect((await rowOf(table, 'again'))?.owner).not.toBeNull();
    await registry.send('again', { type: 'FINISH' });
    await registry.purge('again');
    expect(await rowOf(table, 'again')).toBeUndefined();
  });
});
