import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { freshTable, noPg, server, sql, until } from './helpers.js';

/** Instrumentation, not a mock: every statement runs on the real server; the pool counts the lease renewals under way. */
class RenewalCountingPool extends pg.Pool {
  renewalsInFlight = 0;
  renewalsStarted = 0;

  // pg.Pool's query has a dozen overloads; the store calls it as (text, values).
  override async query(text: any, values?: any): Promise<any> {
    const renewal = String(text).includes('SET lease_expires_at = now()');
    if (renewal) {
      this.renewalsInFlight++;
      this.renewalsStarted++;
    }
    try {
      return await super.query(text, values);
    } finally {
      if (renewal) this.renewalsInFlight--;
    }
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe.skipIf(noPg)('lease renewal', () => {
  it('runs one renewal at a time: renewals held up by a row lock do not pile up and take the whole pool', async () => {
    // Found by the 3-process SIGKILL test: renewals waiting on rows another
    // process was writing were joined by a new one every third of a lease, until
    // they held all 10 connections and writes, claims and mail stopped; every
    // lease then lapsed.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const table = freshTable();
    const pool = new RenewalCountingPool({ connectionString: server.url, max: 10 });
    const store = new PostgresStore({ pool, table, leaseMs: 3_000 });
    const registry = createRegistry({ machines: { counter }, store });
    const locker = new pg.Client({ connectionString: server.url });
    try {
      await registry.start();
      await registry.spawnSingleton('counter', 'held');
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`SELECT id FROM ${table} WHERE id = 'held' FOR UPDATE`);
      vi.advanceTimersByTime(1_000); // the first renewal: it waits for the row
      await until(
        async () => pool.renewalsInFlight,
        (n) => n === 1,
        'a renewal to wait on the locked row',
      );
      // Nine more renewal periods while that one still waits.
      for (let i = 0; i < 9; i++) vi.advanceTimersByTime(1_000);
      await new Promise((resolve) => setImmediate(resolve));
      expect(pool.renewalsInFlight).toBe(1);
      expect(pool.renewalsStarted).toBe(1);
      // The pool still serves everything else meanwhile.
      expect((await registry.getStatus('held'))?.status).toBe('running');
      await locker.query('ROLLBACK');
      await until(
        async () => pool.renewalsInFlight,
        (n) => n === 0,
        'the held-up renewal to finish',
      );
      // And renewals go on once the row is free.
      vi.advanceTimersByTime(1_000);
      expect(pool.renewalsStarted).toBe(2);
    } finally {
      await locker.end().catch(() => {});
      vi.useRealTimers();
      await registry.close();
      await pool.end().catch(() => {});
    }
  }, 60_000);

  it('renews through a pool of its own: a store pool held by blocked queries does not cost the leases', async () => {
    // Found by the PostgreSQL attack: renewals queued behind every other query
    // of a busy pool, and the leases lapsed while the process was alive.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const table = freshTable();
    const app = `renewal-${table}`;
    const url = new URL(server.url as string);
    url.searchParams.set('application_name', app);
    const registryOn = (connectionString: string) =>
      createRegistry({
        machines: { counter },
        store: new PostgresStore({ connectionString, table, leaseMs: 3_000 }),
      });
    const a = registryOn(url.toString());
    const b = registryOn(server.url as string);
    const locker = new pg.Client({ connectionString: server.url });
    const leaseOf = async () =>
      (
        await sql<{ at: string }>(
          `SELECT (extract(epoch FROM lease_expires_at) * 1000)::bigint::text AS at FROM ${table} WHERE id = 'busy'`,
        )
      )[0]?.at;
    let sends: Promise<PromiseSettledResult<void>[]> | undefined;
    try {
      await a.start();
      await b.start();
      const ids = Array.from({ length: 12 }, (_, i) => `elsewhere-${i}`);
      for (const id of ids) await b.spawnSingleton('counter', id);
      await a.spawnSingleton('counter', 'busy');
      await a.flush();
      const before = await leaseOf();
      // Mail for instances B hosts waits on the locked inbox: A's 10 connections are taken.
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${table}_inbox IN ACCESS EXCLUSIVE MODE`);
      sends = Promise.allSettled(ids.map((id) => a.send(id, { type: 'INC' })));
      await until(
        async () =>
          Number(
            (
              await sql<{ n: string }>(
                `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
                [app],
              )
            )[0]?.n,
          ),
        (n) => n === 10,
        "A's whole pool to wait on the inbox",
      );
      vi.advanceTimersByTime(1_000); // a renewal is due
      await until(leaseOf, (at) => at !== undefined && at !== before, 'the lease to be renewed');
      await locker.query('ROLLBACK');
      // The mail held up meanwhile is delivered, once each.
      expect((await sends).map((r) => r.status)).toEqual(ids.map(() => 'fulfilled'));
      for (const id of ids)
        await until(
          async () => (await b.getStatus(id))?.context,
          (c) => (c as { count: number } | undefined)?.count === 1,
          `the mail to ${id}`,
        );
    } finally {
      await locker.end().catch(() => {});
      await sends;
      vi.useRealTimers();
      await Promise.allSettled([a.close(), b.close()]);
    }
  }, 60_000);

  it('with a pool of yours, renews through the renewalPool you pass while your pool is busy', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const table = freshTable();
    const pool = new pg.Pool({ connectionString: server.url, max: 1 });
    const renewalPool = new pg.Pool({ connectionString: server.url, max: 1 });
    const registry = createRegistry({
      machines: { counter },
      store: new PostgresStore({ pool, renewalPool, table, leaseMs: 3_000 }),
    });
    const marker = `pool-hog-${table}`;
    let hog: Promise<unknown> | undefined;
    const leaseOf = async () =>
      (
        await sql<{ at: string }>(
          `SELECT (extract(epoch FROM lease_expires_at) * 1000)::bigint::text AS at FROM ${table} WHERE id = 'busy'`,
        )
      )[0]?.at;
    try {
      await registry.start();
      await registry.spawnSingleton('counter', 'busy');
      await registry.flush();
      const before = await leaseOf();
      // Your pool's one connection is taken by a long query.
      hog = pool.query(`SELECT pg_sleep(60) AS "${marker}"`).catch(() => {});
      await until(
        async () =>
          (
            await sql<{ n: string }>(
              `SELECT count(*)::text AS n FROM pg_stat_activity WHERE query LIKE '%${marker}%' AND pid <> pg_backend_pid()`,
            )
          )[0]?.n,
        (n) => n === '1',
        'the long query to hold the pool',
      );
      vi.advanceTimersByTime(1_000); // a renewal is due
      await until(leaseOf, (at) => at !== undefined && at !== before, 'the lease to be renewed');
    } finally {
      // Cancelled on failure too, or the sleeping query would hold a server
      // connection for a minute after the test.
      await sql(
        `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%${marker}%' AND pid <> pg_backend_pid()`,
      );
      await hog;
      vi.useRealTimers();
      await registry.close();
      // Left open by close(): the pools are yours.
      expect(renewalPool.ending).toBe(false);
      await Promise.allSettled([pool.end(), renewalPool.end()]);
    }
  }, 60_000);

  it('hears your pools only while open: stores that share your pools in turn leave no listener behind', async () => {
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    const renewalPool = new pg.Pool({ connectionString: server.url, max: 1 });
    const counts = () => [pool.listenerCount('error'), renewalPool.listenerCount('error')];
    const before = counts();
    try {
      for (let round = 0; round < 5; round++) {
        const registry = createRegistry({
          machines: { counter },
          store: new PostgresStore({ pool, renewalPool, table: freshTable(), leaseMs: 3_000 }),
        });
        const errors: unknown[] = [];
        registry.on('error', (e) => errors.push(e));
        await registry.start();
        expect(counts()).toEqual(before.map((n) => n + 1));
        // An idle client's lost server is reported, not thrown at the process.
        pool.emit('error', new Error('server closed the connection'));
        expect(errors).toHaveLength(1);
        await registry.close();
        expect(counts()).toEqual(before);
      }
    } finally {
      await Promise.allSettled([pool.end(), renewalPool.end()]);
    }
  });

  it('after a failed open, a connection its pool loses is reported, not thrown, and close() ends the pool', async () => {
    // Found by review: a failed open took the error listeners off a pool the
    // store had opened, whose idle client then crashed the process when its
    // server went away; and close() after a failed open ended nothing.
    const table = freshTable();
    const app = `xr_failed_open_${table}`;
    const url = `${server.url}${server.url?.includes('?') ? '&' : '?'}application_name=${app}`;
    const store = new PostgresStore({ connectionString: url, table, leaseMs: 3_000 });
    const errors: unknown[] = [];
    store.onError((err) => errors.push(err));
    // Fault injection: the inbox cannot start.
    (store.inbox as unknown as { open: () => Promise<void> }).open = async () => {
      throw new Error('inbox down (injected)');
    };
    await expect(store.open()).rejects.toThrow('inbox down');
    const connections = () =>
      sql<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [app],
      ).then((r) => r[0]?.n ?? 0);
    // Creating the schema left an idle client in the store's pool: its server goes away.
    expect(await connections()).toBeGreaterThan(0);
    await sql(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [app],
    );
    await until(
      async () => errors.length,
      (n) => n > 0,
      'the lost connection to be reported',
    );
    // A second client, so that close() has a connection to end.
    await expect(store.open()).rejects.toThrow('inbox down');
    await store.close();
    expect(await connections()).toBe(0);
  });

  it('a failed open leaves no listener on your pools, so a retry loop over one pool does not collect them', async () => {
    // Found by review: a registry that failed to open its store never closes it.
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    const before = pool.listenerCount('error');
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const store = new PostgresStore({ pool, table: freshTable(), leaseMs: 3_000 });
        // Fault injection: the inbox cannot start.
        (store.inbox as unknown as { open: () => Promise<void> }).open = async () => {
          throw new Error('inbox down (injected)');
        };
        const registry = createRegistry({ machines: { counter }, store });
        await expect(registry.start()).rejects.toThrow('inbox down');
        expect(pool.listenerCount('error')).toBe(before);
      }
    } finally {
      await pool.end();
    }
  });
});
