import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { createRegistry, type RegistryError } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { machines } from '../fixtures.js';
import { storeContract } from '../store-contract.js';
import { freshTable, noPg, restartPgAsync, server, sql } from './helpers.js';
import { type PgServer, startPg, stopPg } from './server.js';

if (noPg) console.warn(`Skipping PostgreSQL tests: ${noPg}`);

describe.skipIf(noPg)('PostgresStore', () => {
  storeContract('PostgresStore', async () => {
    const table = freshTable();
    return {
      store: new PostgresStore({ connectionString: server.url, table }),
      again: () => new PostgresStore({ connectionString: server.url, table }),
    };
  });

  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((c) => c.close()));
  });

  async function registryOn(table: string, extra: Record<string, unknown> = {}) {
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    const registry = createRegistry({ machines, store, takeoverIntervalMs: 200, ...extra });
    open.push(registry);
    await registry.start();
    return { registry, store };
  }

  it('restores a quarantined row where takeover finds it (restoreSetAside; the store contract exercises it)', async () => {
    const table = freshTable();
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    open.push(store);
    expect(typeof store.restoreSetAside).toBe('function');
    await store.open();
    await store.claim('q');
    const record = JSON.stringify({
      id: 'q',
      type: 'counter',
      status: 'running',
      createdAt: 5,
      updatedAt: 7,
      machineVersion: 1,
    });
    await store.write('q', record, {
      type: 'counter',
      status: 'running',
      createdAt: 5,
      updatedAt: 7,
      machineVersion: 1,
    });
    await store.quarantine('q', 'CORRUPT_RECORD: test');
    const [aside] = (await store.listSetAside()).items;
    await store.restoreSetAside(aside?.key ?? '');
    // Hosted by nobody, its columns taken from the record: the next claim or takeover sweep finds it.
    expect(
      await sql(
        `SELECT record, type, status, created_at, updated_at, machine_version, owner FROM ${table} WHERE id = 'q'`,
      ),
    ).toEqual([
      {
        record,
        type: 'counter',
        status: 'running',
        created_at: '5',
        updated_at: '7',
        machine_version: '1',
        owner: null,
      },
    ]);
    expect(await store.orphans(10)).toEqual(['q']);
  });

  it('creates its schema on first use, indexed for status and list queries', async () => {
    const table = freshTable();
    await registryOn(table);
    const indexes = await sql<{ indexname: string }>(
      'SELECT indexname FROM pg_indexes WHERE tablename = $1',
      [table],
    );
    expect(indexes.map((i) => i.indexname).sort()).toEqual(
      [
        `${table}_by_created`,
        `${table}_by_status`,
        `${table}_by_updated`,
        `${table}_by_updated_id`,
        `${table}_id_prefix`,
        `${table}_orphans`,
        `${table}_pkey`,
      ].sort(),
    );
    const plan = await sql<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM ${table} WHERE record IS NOT NULL AND status = ANY($1) ORDER BY created_at, id LIMIT 10`,
      [['running']],
    );
    expect(plan.map((p) => p['QUERY PLAN']).join('\n')).not.toMatch(/Seq Scan.*\n.*Sort/);
  });

  it('hosts, persists and resumes instances like any store, with status and list served by queries', async () => {
    const table = freshTable();
    const first = await registryOn(table);
    await first.registry.spawnSingleton('counter', 'c1', { input: { label: 'pg' } });
    await first.registry.send('c1', { type: 'INC' });
    await first.registry.spawnSingleton('counter', 'done');
    await first.registry.send('done', { type: 'FINISH' });
    await first.registry.flush();
    const rows = await sql<{ id: string; status: string }>(
      `SELECT id, status FROM ${table} ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: 'c1', status: 'running' },
      { id: 'done', status: 'done' },
    ]);
    expect((await sql(`SELECT owner FROM ${table} WHERE id = 'c1'`))[0]).toEqual({
      owner: first.store.ownerId,
    });
    await first.registry.close();
    expect(
      (await sql<{ owner: string | null }>(`SELECT owner FROM ${table}`)).every(
        (r) => r.owner === null,
      ),
    ).toBe(true);

    const second = await registryOn(table, { takeoverIntervalMs: 60_000 });
    // start() took over the running orphan; status and list need no activation for the rest.
    expect(second.registry.get('c1')?.getSnapshot().context).toEqual({ count: 1, label: 'pg' });
    expect(await second.registry.getStatus('done')).toMatchObject({
      status: 'done',
      output: { total: 0 },
    });
    const page = await second.registry.list({ status: ['running', 'done'], limit: 1 });
    expect(page.items).toHaveLength(1);
    const next = await second.registry.list({
      status: ['running', 'done'],
      limit: 1,
      cursor: page.cursor as string,
    });
    expect([page.items[0]?.id, next.items[0]?.id].sort()).toEqual(['c1', 'done']);
  });

  // Issue 14 superseded "a process that does not own an ID gets OWNED_ELSEWHERE":
  // every call now reaches the owner through the inbox.
  it('a process that does not own an ID reaches it through its owner', async () => {
    const table = freshTable();
    const a = await registryOn(table);
    const b = await registryOn(table);
    await a.registry.spawnSingleton('counter', 'mine');
    await a.registry.flush();
    // The instance stays with its owner: B gets an inert copy of its last state.
    const copy = await b.registry.spawnSingleton('counter', 'mine');
    expect(copy.id).toBe('mine');
    expect(b.registry.get('mine')).toBeUndefined();
    await b.registry.send('mine', { type: 'INC' });
    expect(
      await b.registry.waitFor('mine', (s) => s.context.count === 1, { type: 'counter' }),
    ).toMatchObject({
      status: 'running',
    });
    expect(a.registry.get('mine')?.getSnapshot().context.count).toBe(1);
    expect(await b.registry.stop('mine', 'from b')).toMatchObject({
      status: 'stopped',
      stopReason: 'from b',
    });
    await b.registry.purge('mine');
    expect(await a.registry.getStatus('mine')).toBeUndefined();
  });

  it('a forced purge of a running instance from another process is applied by its owner', async () => {
    const table = freshTable();
    const a = await registryOn(table);
    const b = await registryOn(table);
    await a.registry.spawnSingleton('counter', 'mine');
    await a.registry.flush();
    await expect(b.registry.purge('mine')).rejects.toMatchObject({ code: 'INSTANCE_RUNNING' });
    // The owner drops it from memory once its delete has committed, which b
    // may hear of first (under load it did): wait for the owner's own word.
    const purgedByOwner = new Promise((resolve) => a.registry.on('purged', resolve));
    await b.registry.purge('mine', { force: true });
    expect(await b.registry.getStatus('mine')).toBeUndefined();
    expect(await purgedByOwner).toMatchObject({ id: 'mine' });
    expect(a.registry.get('mine')).toBeUndefined();
  });

  it('a finished instance gives up its lease, so another process can replace it', async () => {
    const table = freshTable();
    const a = await registryOn(table);
    const b = await registryOn(table);
    await a.registry.spawnSingleton('counter', 'job', { input: { label: 'first run' } });
    await a.registry.send('job', { type: 'FINISH' });
    await a.registry.flush();
    for (
      let i = 0;
      (await sql<{ owner: string | null }>(`SELECT owner FROM ${table} WHERE id = 'job'`))[0]
        ?.owner;
      i++
    ) {
      if (i > 200) throw new Error('the lease of a finished instance was never released');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(a.registry.get('job')).toBeUndefined();
    expect(await a.registry.getStatus('job')).toMatchObject({ status: 'done' });
    const again = await b.registry.ensureSingleton('counter', 'job', {
      ifFinished: 'replace',
      input: { label: 'second run' },
    });
    expect(again.created).toBe(true);
    expect(again.actor.getSnapshot().context.label).toBe('second run');
  });

  it('a write by a process that lost its lease is fenced; its copy stops', async () => {
    const table = freshTable();
    const a = await registryOn(table, { takeoverIntervalMs: 60_000 });
    const errors: RegistryError[] = [];
    const lost: string[] = [];
    a.registry.on('error', (e) => errors.push(e));
    a.registry.on('lost', ({ id }) => lost.push(id));
    const actor = await a.registry.spawnSingleton('counter', 'c');
    await a.registry.flush();
    // Another owner takes over (as after A's lease expired): owner and epoch change.
    await sql(
      `UPDATE ${table} SET owner = 'someone-else', epoch = epoch + 1, lease_expires_at = now() + interval '1 hour', record = jsonb_set(record::jsonb, '{snapshot,context,count}', '42')::text WHERE id = 'c'`,
    );
    actor.send({ type: 'INC' });
    await expect(a.registry.flush()).rejects.toMatchObject({ code: 'FENCED' });
    expect(lost).toEqual(['c']);
    expect(actor.getSnapshot().status).toBe('stopped');
    expect(a.registry.get('c')).toBeUndefined();
    const [row] = await sql<{ count: number; owner: string }>(
      `SELECT (record::jsonb->'snapshot'->'context'->>'count')::int AS count, owner FROM ${table} WHERE id = 'c'`,
    );
    expect(row).toEqual({ count: 42, owner: 'someone-else' });
  });
});

describe.skipIf(noPg)('PostgreSQL restarting in the middle of traffic', () => {
  // A server of its own: restarting the shared one would cut the other test files' connections.
  let own: PgServer;
  beforeAll(async () => {
    own = await startPg(server.bin);
  }, 60_000);
  afterAll(() => stopPg(own));

  it('the registry keeps its actors, reports the outage, retries, and loses nothing acknowledged', async () => {
    const table = freshTable();
    const store = new PostgresStore({ connectionString: own.url, table, leaseMs: 30_000 });
    const registry = createRegistry({ machines, store, takeoverIntervalMs: 60_000 });
    const errors: RegistryError[] = [];
    registry.on('error', (e) => errors.push(e));
    await registry.start();
    const actor = await registry.spawnSingleton('counter', 'busy');
    let acknowledged = 0;
    let restarting = true;
    const restart = restartPgAsync(own).finally(() => {
      restarting = false;
    });
    // Traffic goes on while the server goes down and comes back.
    let sent = 0;
    while (restarting || sent < 200) {
      await registry.send('busy', { type: 'INC' });
      sent++;
      const count = actor.getSnapshot().context.count;
      try {
        await registry.flush();
        acknowledged = count;
      } catch (err) {
        expect((err as RegistryError).code).toBe('PERSIST_FAILED');
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await restart;
    // After the outage, writes get through again (retried with backoff).
    for (let i = 0; ; i++) {
      try {
        await registry.flush();
        break;
      } catch (err) {
        if (i > 200) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(registry.get('busy')).toBe(actor);
    expect(errors.some((e) => e.code === 'PERSIST_FAILED')).toBe(true);
    const [row] = await sql<{ count: number }>(
      `SELECT (record::jsonb->'snapshot'->'context'->>'count')::int AS count FROM ${table} WHERE id = 'busy'`,
      [],
      own.url,
    );
    expect(row?.count).toBe(actor.getSnapshot().context.count);
    expect(row?.count).toBeGreaterThanOrEqual(acknowledged);
    expect(row?.count).toBe(sent);
    await registry.close();
  }, 120_000);
});

describe.skipIf(noPg)('PostgresStore with idle passivation', () => {
  // The idle sweep stops while nothing is live (a test clock's long jumps
  // fired it every idleTimeoutMs / 2); an instance adopted from a process that
  // closed is live here, and must start it again.
  it('an instance adopted while nothing else was live is passivated once idle', async () => {
    const { createTestRegistry, TestClock } = await import('../../src/testing/index.js');
    const table = freshTable();
    // From the wall clock's now: the adopted instance's times are process a's.
    const clock = new TestClock(Date.now());
    const b = await createTestRegistry({
      machines,
      store: new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 }) as never,
      clock,
      idleTimeoutMs: 1000,
      takeoverIntervalMs: 60_000,
    });
    const a = createRegistry({
      machines,
      store: new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 }),
      takeoverIntervalMs: 60_000,
    });
    try {
      clock.increment(86_400_000); // nothing live: the sweep sleeps
      await a.start();
      await a.spawnSingleton('counter', 'moved');
      const events: string[] = [];
      b.on('restored', ({ id }) => events.push(`restored:${id}`));
      b.on('passivated', ({ id }) => events.push(`passivated:${id}`));
      await a.close(); // hands it over: b adopts it at the notice
      for (let i = 0; !events.includes('restored:moved'); i++) {
        if (i > 500) throw new Error(`never adopted: ${events.join(', ')}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      // Moved on while polling: a sweep skips an instance whose adoption
      // still holds its lock (its mail being applied), and the next sweep
      // fires only when the test clock moves.
      for (let i = 0; !events.includes('passivated:moved'); i++) {
        if (i > 200) throw new Error(`never passivated: ${events.join(', ')}`);
        clock.increment(1000);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      await a.close().catch(() => {});
      await b.close();
    }
  }, 60_000);

  // Found by a review: a cluster spawn whose start runs nothing takes the
  // claim-stored path, which did not wake the sweep; and an instance adopted
  // during start() armed a second sweep whose timer outlived close().
  it('an instance spawned on the claim-stored path after the sweep stopped is passivated once idle', async () => {
    const { createTestRegistry, TestClock } = await import('../../src/testing/index.js');
    const quiet = setup({}).createMachine({
      id: 'quiet',
      initial: 'a',
      states: { a: { on: { GO: 'a' } } },
    });
    const clock = new TestClock(Date.now());
    const r = await createTestRegistry({
      machines: { quiet },
      store: new PostgresStore({
        connectionString: server.url,
        table: freshTable(),
        leaseMs: 30_000,
      }) as never,
      clock,
      idleTimeoutMs: 1000,
      takeoverIntervalMs: 60_000,
    });
    try {
      const passivated: string[] = [];
      r.on('passivated', ({ id }) => passivated.push(id));
      clock.increment(5000); // nothing live: the sweep stops
      await r.spawnSingleton('quiet', 'p');
      for (let i = 0; passivated.length === 0; i++) {
        if (i > 200) throw new Error('never passivated');
        clock.increment(1000);
        await new Promise((settle) => setTimeout(settle, 10));
      }
      expect(passivated).toEqual(['p']);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('an instance adopted during start() leaves no sweep timer after close()', async () => {
    const { TestClock } = await import('../../src/testing/index.js');
    const table = freshTable();
    const a = createRegistry({
      machines,
      store: new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 }),
      takeoverIntervalMs: 60_000,
    });
    await a.start();
    await a.spawnSingleton('counter', 'orphan');
    await a.close(); // released: b adopts it at its start
    const live = new Set<unknown>();
    class Tracking extends TestClock {
      override setTimeout(fn: (...args: any[]) => void, ms: number): number {
        const handle: number = super.setTimeout(() => {
          live.delete(handle);
          fn();
        }, ms);
        live.add(handle);
        return handle;
      }
      override clearTimeout(handle: unknown): void {
        live.delete(handle);
        super.clearTimeout(handle as number);
      }
    }
    const clock = new Tracking(Date.now() + 10_000);
    const b = createRegistry({
      machines,
      store: new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 }),
      clock,
      idleTimeoutMs: 100_000,
      takeoverIntervalMs: 60_000,
    });
    const restored: string[] = [];
    b.on('restored', ({ id }) => restored.push(id));
    await b.start();
    expect(restored).toEqual(['orphan']);
    await b.close();
    expect(live.size).toBe(0);
  }, 60_000);

  it('opened read-only, it reads and refuses every change', async () => {
    const table = freshTable();
    const owner = new PostgresStore({ connectionString: server.url, table });
    await owner.open();
    await owner.close();
    const reader = new PostgresStore({ connectionString: server.url, table });
    await reader.openReadOnly();
    try {
      expect(await reader.read('x')).toBeUndefined();
      const meta = {
        type: 'counter',
        status: 'running',
        createdAt: 1,
        updatedAt: 1,
        machineVersion: 1,
      } as never;
      for (const change of [
        () => reader.claim('x'),
        () => reader.write('x', '{}', meta),
        () => reader.remove('x'),
        () => reader.quarantine('x', 'why'),
        () => reader.restoreSetAside('x'),
      ])
        await expect(change()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      expect(await sql(`SELECT id FROM ${table}`)).toEqual([]);
    } finally {
      await reader.close();
    }
  });

  it('a passivated instance keeps its lease, is read by query, and activates from its row', async () => {
    const { createTestRegistry, TestClock } = await import('../../src/testing/index.js');
    const table = freshTable();
    const clock = new TestClock(Date.UTC(2026, 0, 1));
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    const a = await createTestRegistry({
      machines,
      store: store as never,
      clock,
      idleTimeoutMs: 1000,
      takeoverIntervalMs: 60_000,
    });
    const other = createRegistry({
      machines,
      store: new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 }),
      takeoverIntervalMs: 60_000,
    });
    await other.start();
    try {
      const passivated: string[] = [];
      a.on('passivated', ({ id }) => passivated.push(id));
      await a.spawnSingleton('counter', 'p');
      await a.send('p', { type: 'INC' });
      clock.increment(5000);
      for (let i = 0; passivated.length === 0; i++) {
        if (i > 200) throw new Error('never passivated');
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(a.get('p')).toBeUndefined();
      // Still this process's: the lease is kept while passivated (issue 14: the
      // other process finds it rather than getting OWNED_ELSEWHERE, and does not host it).
      expect((await other.spawnSingleton('counter', 'p')).getSnapshot().context.count).toBe(1);
      expect(other.get('p')).toBeUndefined();
      expect(
        (await sql<{ owner: string }>(`SELECT owner FROM ${table} WHERE id = 'p'`))[0]?.owner,
      ).toBe(store.ownerId);
      expect(await other.getStatus('p')).toMatchObject({
        status: 'running',
        context: { count: 1 },
      });
      await a.send('p', { type: 'INC' });
      expect(a.get('p')?.getSnapshot().context.count).toBe(2);
    } finally {
      await other.close();
      await a.close();
    }
  });
});
