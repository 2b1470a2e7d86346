/**
 * A purge whose DELETE fails leaves the instance as it was (see
 * test/purge-failure.test.ts for the file store). On PostgreSQL the store
 * forgot its lease before the DELETE and never took it back: the instance
 * stayed hosted here, but its lease was no longer renewed and its next write
 * was refused as FENCED, so an acknowledged event was lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { freshTable, noPg, server, sql } from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

describe.skipIf(noPg)('PostgreSQL: a purge whose DELETE fails', () => {
  it.each(['relaxed', 'strict'] as const)(
    '%s: rejects PERSIST_FAILED, keeps the lease, loses nothing, and a retried purge works',
    async (durability) => {
      const table = freshTable();
      const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
      const registry = createRegistry({
        machines: { counter },
        store,
        takeoverIntervalMs: 60_000,
        durability,
      });
      open.push(registry);
      await registry.start();
      const lost: string[] = [];
      registry.on('lost', ({ id }) => lost.push(id));
      registry.on('error', () => {});
      await registry.spawnSingleton('counter', 'c');
      await registry.send('c', { type: 'INC' });
      await registry.flush();
      // Fault injection: the first DELETE on the table fails.
      await sql(`CREATE SEQUENCE ${table}_fault;
        CREATE FUNCTION ${table}_fault() RETURNS trigger AS $$ BEGIN
          IF nextval('${table}_fault') = 1 THEN RAISE EXCEPTION 'injected delete failure'; END IF;
          RETURN OLD; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER ${table}_fault BEFORE DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${table}_fault();`);
      await expect(registry.purge('c', { force: true })).rejects.toMatchObject({
        code: 'PERSIST_FAILED',
      });
      expect(registry.get('c')).toBeDefined();
      await registry.send('c', { type: 'INC' });
      await registry.flush();
      expect(lost).toEqual([]);
      const rows = await sql(`SELECT record FROM ${table} WHERE id = 'c'`);
      expect(JSON.parse(rows[0]?.record as string).snapshot.context.count).toBe(2);
      await registry.purge('c', { force: true });
      expect(await sql(`SELECT id FROM ${table}`)).toEqual([]);
      expect(lost).toEqual([]);
    },
    60_000,
  );
});
