import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { freshTable, noPg, server, sql, until } from './helpers.js';

/**
 * Instrumentation, not a mock: every statement runs on the real server; the
 * pools of this class count the lease renewals under way. The counts are
 * shared by every pool of the class: the store renews through a pool of its
 * own, made of the class of the pool it was given.
 */
const renewals = { inFlight: 0, started: 0 };
class RenewalCountingPool extends pg.Pool {
  get renewalsInFlight() {
    return renewals.inFlight;
  }
  get renewalsStarted() {
    return renewals.started;
  }

  // pg.Pool's query has a dozen overloads; the store calls it as (text, values).
  override async query(text: any, values?: any): Promise<any> {
    const renewal = String(text).includes('SET lease_expires_at = now()');
    if (renewal) {
      renewals.inFlight++;
      renewals.started++;
    }
    try {
      return await super.query(text, values);
    } finally {
      if (renewal) renewals.inFlight--;
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

  it('renews through a connection of its own: a pool kept busy by other queries does not cost the leases', async () => {
    // Found by the PostgreSQL attack: with a pool of 1 and ~2,000 calls waiting
    // on it, renewals queued behind them and all 1,000 leases lapsed.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const table = freshTable();
    const pool = new pg.Pool({ connectionString: server.url, max: 1 });
    const store = new PostgresStore({ pool, table, leaseMs: 3_000 });
    const registry = createRegistry({ machines: { counter }, store });
    const leaseOf = async () =>
      (
        await sql<{ at: string }>(
          `SELECT (extract(epoch FROM lease_expires_at) * 1000)::bigint::text AS at FROM ${table} WHERE id = 'busy'`,
        )
      )[0]?.at;
    const marker = `pool-hog-${table}`;
    try {
      await registry.start();
      await registry.spawnSingleton('counter', 'busy');
      await registry.flush();
      const before = await leaseOf();
      // The pool's one connection is taken by a long query, and more queue behind it.
      const hog = pool.query(`SELECT pg_sleep(60) AS "${marker}"`).catch(() => {});
      await until(
        async () =>
          Number(
            (
              await sql<{ n: string }>(
                `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%${marker}%' AND pid <> pg_backend_pid()`,
              )
            )[0]?.n,
          ),
        (n) => n === 1,
        'the long query to hold the pool',
      );
      const queued = registry.getStatus('busy');
      vi.advanceTimersByTime(1_000); // a renewal is due
      await until(
        leaseOf,
        (at) => at !== undefined && at !== before,
        'the lease to be renewed',
        20_000,
      );
      await sql(
        `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%${marker}%' AND pid <> pg_backend_pid()`,
      );
      await hog;
      expect((await queued)?.status).toBe('running');
    } finally {
      vi.useRealTimers();
      await registry.close();
      await pool.end().catch(() => {});
    }
  }, 60_000);
});
