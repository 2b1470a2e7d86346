import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/postgres.js';
import { releaseAllRows } from '../../src/stores/postgres-lease.js';
import { LeaseBook } from '../../src/stores/postgres-lease-book.js';
import { PostgresWriteBatch } from '../../src/stores/postgres-write-batch.js';
import { freshTable, noPg, server, sql } from './helpers.js';

const ROWS = 300;
const ROUNDS = 40;

/**
 * A process's batched record writes and its lease renewals run at once on
 * different connections, and both update many of its rows. Taking the row
 * locks in different orders (the batch in the order changes came, the renewal
 * in its own) deadlocked: PostgreSQL aborted one of the two after a second
 * (deadlock_timeout), so a renewal failed (reported as an error, the leases
 * left to lapse) or a batch was split and retried row by row. Both now lock
 * their rows in ID order.
 */
describe.skipIf(noPg)(
  'PostgreSQL: batched writes and lease renewals take row locks in one order',
  () => {
    it('never deadlock, whatever order the changes and the leases come in', async () => {
      const table = freshTable();
      const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
      await store.open();
      await store.close();
      const owner = 'owner-a';
      const ids = Array.from({ length: ROWS }, (_, i) => `row-${String(i).padStart(4, '0')}`);
      await sql(
        `INSERT INTO ${table} (id, record, type, status, created_at, updated_at, machine_version, owner, epoch, lease_expires_at)
       SELECT x, '{}', 't', 'running', 0, 0, 1, $2, 1, now() + interval '1 hour' FROM unnest($1::text[]) x`,
        [ids, owner],
      );
      const pool = new pg.Pool({ connectionString: server.url, max: 4 });
      // Observes (does not change) every statement's outcome: a batch hides a
      // deadlock by retrying row by row, so its error is only seen here.
      const failures: string[] = [];
      const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
      (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args) =>
        query(...args).catch((err: { code?: string }) => {
          failures.push(err.code ?? String(err));
          throw err;
        });
      const lost: string[] = [];
      const renewErrors: unknown[] = [];
      const leases = new LeaseBook({ main: pool, renewal: pool }, table, owner, 30_000, {
        onLost: (id) => lost.push(id),
        onError: (err) => renewErrors.push(err),
      });
      const batch = new PostgresWriteBatch(
        { main: pool, renewal: pool },
        table,
        owner,
        30_000,
        `${table}_inbox`,
      );
      try {
        const orders = fc.sample(
          fc.tuple(
            fc.shuffledSubarray(ids, { minLength: 150 }),
            fc.shuffledSubarray(ids, { minLength: ROWS }),
          ),
          { numRuns: ROUNDS, seed: 42 },
        );
        let round = 0;
        for (const [written, held] of orders) {
          leases.epochs.clear();
          for (const id of held) leases.epochs.set(id, 1);
          round++;
          const writes = written.map((id) =>
            batch.write({
              id,
              text: JSON.stringify({ round }),
              type: 't',
              status: 'running',
              createdAt: 0,
              updatedAt: round,
              machineVersion: 1,
              epoch: 1,
              final: false,
              announce: false,
            }),
          );
          // The batch goes out at the next turn; the renewal at once, beside it.
          await new Promise((resolve) => setImmediate(resolve));
          const [applied] = await Promise.all([Promise.all(writes), leases.renew()]);
          expect(applied.every(Boolean)).toBe(true);
          expect({ round, failures, renewErrors: renewErrors.length, lost }).toEqual({
            round,
            failures: [],
            renewErrors: 0,
            lost: [],
          });
        }
        const rows = await sql<{ n: string }>(
          `SELECT count(*) AS n FROM ${table} WHERE owner = $1 AND lease_expires_at > now() + interval '20 seconds'`,
          [owner],
        );
        expect(Number(rows[0]?.n)).toBe(ROWS);
      } finally {
        await pool.end();
      }
    }, 120_000);
    /**
     * Closing gives up every lease in one statement, and a renewal may still
     * be running. The release updated its rows in the table's physical order,
     * the renewal in ID order: with the rows stored in reverse ID order and a
     * row in the middle held by another transaction, each ended up waiting on
     * a row the other held, and PostgreSQL aborted one of them.
     */
    it('giving up every lease at close never deadlocks with a renewal still running', async () => {
      const table = freshTable();
      const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
      await store.open();
      await store.close();
      const owner = 'owner-b';
      const ids = Array.from({ length: 30 }, (_, i) => `row-${String(i).padStart(2, '0')}`);
      // Stored last ID first, so a scan meets them in the order opposite to the renewal's.
      await sql(
        `INSERT INTO ${table} (id, record, type, status, created_at, updated_at, machine_version, owner, epoch, lease_expires_at)
       SELECT x, '{}', 't', 'running', 0, 0, 1, $2, 1, now() + interval '1 hour' FROM unnest($1::text[]) x`,
        [[...ids].reverse(), owner],
      );
      const pool = new pg.Pool({ connectionString: server.url, max: 4 });
      const blocker = new pg.Client({ connectionString: server.url });
      await blocker.connect();
      const renewErrors: unknown[] = [];
      const leases = new LeaseBook({ main: pool, renewal: pool }, table, owner, 30_000, {
        onLost: () => {},
        onError: (err) => renewErrors.push(err),
      });
      for (const id of ids) leases.epochs.set(id, 1);
      // Statements of this table waiting on a row lock.
      const waiting = async (): Promise<number> => {
        const rows = await sql<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`,
          [table],
        );
        return Number(rows[0]?.n);
      };
      const until = async (n: number): Promise<void> => {
        while ((await waiting()) < n) await sleep(20);
      };
      try {
        await blocker.query('BEGIN');
        await blocker.query(`SELECT id FROM ${table} WHERE id = 'row-15' FOR UPDATE`);
        const renewal = leases.renew();
        await until(1);
        const release = releaseAllRows(pool, table, owner);
        await until(2);
        await blocker.query('COMMIT');
        const [released] = await Promise.allSettled([release, renewal]);
        expect({ released: released.status, renewErrors }).toEqual({
          released: 'fulfilled',
          renewErrors: [],
        });
        const held = await sql<{ n: string }>(
          `SELECT count(*) AS n FROM ${table} WHERE owner IS NOT NULL`,
        );
        expect(Number(held[0]?.n)).toBe(0);
      } finally {
        await blocker.end();
        await pool.end();
      }
    }, 60_000);
  },
);
