import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { freshTable, noPg, server, until } from './helpers.js';

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
});
