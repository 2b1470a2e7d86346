/**
 * Every start ran `CREATE INDEX IF NOT EXISTS` on the instances and inbox
 * tables, which takes a SHARE lock before it looks: a starting process (or one
 * paused while starting) held every other process's writes and lease renewals
 * up behind it. A start on a current schema now takes no lock that a writer
 * waits for: here a writer's lock is held throughout, and the start must end
 * without anything queueing behind or in front of it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { machines } from '../fixtures.js';
import { freshTable, noPg, server, sql } from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

describe.skipIf(noPg)('PostgreSQL: starting on a current schema', () => {
  it('takes no lock that waits behind (or blocks) a writer of the tables', async () => {
    const table = freshTable();
    const make = () =>
      createRegistry({
        machines,
        store: new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 }),
      });
    const first = make();
    await first.start();
    await first.spawnSingleton('counter', 'c');
    await first.close();
    // A writer in the middle of its transaction on both tables.
    const writer = new pg.Client({ connectionString: server.url });
    await writer.connect();
    open.push({ close: () => writer.end() });
    await writer.query('BEGIN');
    await writer.query(`LOCK TABLE ${table}, ${table}_inbox IN ROW EXCLUSIVE MODE`);
    const second = make();
    open.push(second);
    let done = false;
    const starting = second.start().finally(() => {
      done = true;
    });
    // Whichever comes first: the start ends, or a lock request on the tables waits.
    let waiting: unknown[] = [];
    while (!done && waiting.length === 0) {
      waiting = await sql(
        `SELECT relation::regclass::text AS rel, mode FROM pg_locks
          WHERE NOT granted AND relation IN (to_regclass($1), to_regclass($2))`,
        [table, `${table}_inbox`],
      );
      await sleep(20);
    }
    await writer.query('COMMIT');
    await starting;
    expect(waiting).toEqual([]);
    expect((await second.getStatus('c'))?.status).toBe('running');
  });
});
