/**
 * Fencing compares a write's epoch with the row's. Epochs lived only in the
 * row, so deleting the row (a forced purge) reset them: the ID's next
 * incarnation started at epoch 1 again. An owner paused past its lease (GC,
 * SIGSTOP, a VM migration) still holding epoch 1 then wrote over the new
 * incarnation once that was released (stopped, or its process closed), and
 * a stopped instance ran again with the paused process's old state. Epochs
 * now come from one sequence per table: an ID never gets an epoch twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isRegistryError } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { freshTable, noPg, server, sql } from './helpers.js';

const meta = (status: string) => ({
  type: 'counter',
  status,
  createdAt: 1,
  updatedAt: 2,
  machineVersion: 1,
});
const record = (by: string, status: string) =>
  JSON.stringify({
    id: 'x',
    by,
    type: 'counter',
    status,
    createdAt: 1,
    updatedAt: 2,
    machineVersion: 1,
  });

describe.skipIf(noPg)('PostgreSQL: epochs across incarnations of one ID', () => {
  const open: PostgresStore[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((s) => s.close()));
  });
  const storeOn = async (table: string) => {
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 60_000 });
    open.push(store);
    await store.open();
    return store;
  };

  it('a paused owner of a purged instance cannot write over its next incarnation, even once that is released', async () => {
    const table = freshTable();
    const paused = await storeOn(table);
    const other = await storeOn(table);
    // The paused process created x and still believes it holds it.
    await paused.claim('x', { text: record('paused', 'running'), meta: meta('running') });
    // Meanwhile: its lease lapsed, x was purged (its row deleted), created again by
    // the other process, and stopped there (the final record gives the lease up).
    await sql(`UPDATE ${table} SET lease_expires_at = now() - interval '1 second' WHERE id = 'x'`);
    await sql(`DELETE FROM ${table} WHERE id = 'x'`);
    await other.claim('x', { text: record('other', 'running'), meta: meta('running') });
    await other.write('x', record('other', 'stopped'), meta('stopped'));
    // The paused process wakes up and writes.
    const late = await paused.write('x', record('paused', 'running'), meta('running')).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isRegistryError(late, 'FENCED')).toBe(true);
    const rows = await sql<{ record: string; owner: string | null }>(
      `SELECT record, owner FROM ${table} WHERE id = 'x'`,
    );
    expect(rows).toEqual([{ record: record('other', 'stopped'), owner: null }]);
  });

  it('a table made before epochs came from a sequence continues past its highest epoch', async () => {
    const table = freshTable();
    const first = await storeOn(table);
    await first.close();
    // As an older version left it: rows with epochs, no sequence.
    await sql(`DROP SEQUENCE IF EXISTS ${table}_epoch`);
    await sql(
      `INSERT INTO ${table} (id, record, type, status, created_at, updated_at, machine_version, epoch)
       VALUES ('old', '{}', 'counter', 'running', 1, 2, 1, 41)`,
    );
    const store = await storeOn(table);
    await store.claim('fresh');
    await store.claim('old');
    const epochs = await sql<{ id: string; epoch: string }>(
      `SELECT id, epoch FROM ${table} ORDER BY id`,
    );
    for (const { epoch } of epochs) expect(Number(epoch)).toBeGreaterThan(41);
  });
});
