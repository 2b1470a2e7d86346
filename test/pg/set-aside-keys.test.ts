import { describe, expect, it } from 'vitest';
import type { SetAsideRecord } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { createSchema1Table, freshTable, noPg, server, sql } from './helpers.js';

/**
 * A set-aside row's key named its ID and the microsecond it was set aside.
 * Two rows of one ID set aside at one instant (a quarantine table restored
 * from a backup, rows copied by hand, several set-asides in one transaction,
 * whose now() is one instant) had one key: paging skipped the second, and
 * restoring either key put back whichever row PostgreSQL found first.
 */
describe.skipIf(noPg)('PostgreSQL: set-aside keys', () => {
  it('name exactly one row each, even for two rows of one ID set aside in the same microsecond', async () => {
    const table = freshTable();
    // The quarantine table as earlier versions created it: opening adds what keys need.
    await createSchema1Table(table);
    await sql(
      `INSERT INTO ${table}_quarantine (id, record, reason, at) VALUES
         ('twin', '{"n":1}', 'first', '2026-11-28T10:00:00Z'),
         ('twin', '{"n":2}', 'second', '2026-11-28T10:00:00Z'),
         ('other', 'x', 'third', '2026-11-28T09:00:00Z')`,
    );
    const store = new PostgresStore({ connectionString: server.url, table });
    await store.open();
    try {
      const seen: SetAsideRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listSetAside({ limit: 1, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items);
        cursor = page.cursor ?? undefined;
      } while (cursor && seen.length < 10);
      expect(seen.map((e) => e.reason).sort()).toEqual(['first', 'second', 'third']);
      expect(new Set(seen.map((e) => e.key)).size).toBe(3);
      const second = seen.find((e) => e.reason === 'second');
      await store.restoreSetAside(second?.key ?? '');
      expect(await sql(`SELECT record FROM ${table} WHERE id = 'twin'`)).toEqual([
        { record: '{"n":2}' },
      ]);
      expect(await sql(`SELECT reason FROM ${table}_quarantine ORDER BY reason`)).toEqual([
        { reason: 'first' },
        { reason: 'third' },
      ]);
      // A key an earlier version handed out (ID and microsecond) still restores its row.
      const micros = String(Date.UTC(2026, 10, 28, 9) * 1000);
      await store.restoreSetAside(
        Buffer.from(JSON.stringify(['other', micros])).toString('base64url'),
      );
      expect(await sql(`SELECT reason FROM ${table}_quarantine`)).toEqual([{ reason: 'first' }]);
    } finally {
      await store.close();
    }
  });

  it('a cursor an earlier version handed out (ID and microsecond) pages on to the rows after it, ties included', async () => {
    const table = freshTable();
    const store = new PostgresStore({ connectionString: server.url, table });
    await store.open();
    try {
      await sql(
        `INSERT INTO ${table}_quarantine (id, record, reason, at) VALUES
           ('a', 'x', 'ra', '2026-11-28T10:00:00Z'), ('b', 'x', 'rb', '2026-11-28T10:00:00Z'),
           ('c', 'x', 'rc', '2026-11-28T10:00:00Z'), ('d', 'x', 'rd', '2026-11-28T09:00:00Z')`,
      );
      // Earlier versions ordered ties by ID: after 'a' came 'b' and 'c', then 'd'.
      const micros = String(Date.UTC(2026, 10, 28, 10) * 1000);
      const cursor = Buffer.from(JSON.stringify(['a', micros])).toString('base64url');
      const page = await store.listSetAside({ cursor, limit: 10 });
      expect(page.items.map((e) => e.id).sort()).toEqual(['b', 'c', 'd']);
    } finally {
      await store.close();
    }
  });
});
