import { beforeAll, describe, expect, it, vi } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { buildCli, cli } from '../support/cli.js';
import { createSchema1Table, freshTable, noPg, pgRegistries, server, sql } from './helpers.js';

describe.skipIf(noPg)('the CLI over a PostgreSQL URL (built, as a child process)', () => {
  const { registryOn } = pgRegistries();
  beforeAll(async () => {
    await buildCli();
  }, 180_000);

  it('lists and shows rows; purge refuses an instance a live process holds with STORE_LOCKED', async () => {
    const table = freshTable();
    const { registry } = registryOn(table, demoMachines, { durability: 'strict' });
    await registry.start();
    await registry.spawnSingleton('approval', 'pg/live');
    await registry.spawnSingleton('approval', 'pg/done');
    await registry.send('pg/done', { type: 'APPROVE', by: 'ada' });
    const store = ['--store', server.url as string, '--table', table];

    const ls = await cli(...store, 'ls', '--prefix', 'pg/', '--json');
    expect(ls.code).toBe(0);
    expect(
      ls.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['pg/live', 'pg/done']);
    const show = await cli(...store, 'show', 'pg/done');
    expect(JSON.parse(show.out)).toMatchObject({ status: 'done', value: 'approved' });

    const held = await cli(...store, 'purge', 'pg/live', '--force');
    expect(held).toMatchObject({ code: 1, err: expect.stringMatching(/^error STORE_LOCKED/) });
    expect(await sql(`SELECT id FROM ${table} WHERE id = 'pg/live'`)).toEqual([{ id: 'pg/live' }]);
    expect(await registry.getStatus('pg/live')).toMatchObject({ status: 'running' });

    // A finished instance is held by no one: purged.
    expect(await cli(...store, 'purge', 'pg/done')).toMatchObject({
      code: 0,
      out: 'purged pg/done\n',
    });
    expect(await sql(`SELECT id FROM ${table} WHERE id = 'pg/done'`)).toEqual([]);
    expect(await cli(...store, 'quarantine', 'ls')).toMatchObject({ code: 0, out: '' });
  }, 60_000);

  it('quarantine ls lists a set-aside row, and quarantine restore puts it back, never over a row its ID has again', async () => {
    const table = freshTable();
    const { registry } = registryOn(table, demoMachines, { durability: 'strict' });
    await registry.start();
    await registry.spawnSingleton('approval', 'q/1');
    await registry.close();
    // Damaged by hand: the next start sets it aside.
    await sql(`UPDATE ${table} SET record = '{"not":"a record"}' WHERE id = 'q/1'`);
    const { registry: again } = registryOn(table, demoMachines);
    again.on('error', () => {});
    await again.start(); // its takeover sweep finds the row and sets it aside
    await vi.waitFor(
      async () => expect(await sql(`SELECT id FROM ${table}_quarantine`)).toEqual([{ id: 'q/1' }]),
      { timeout: 20_000, interval: 100 },
    );
    await again.close();
    const store = ['--store', server.url as string, '--table', table];
    const listed = await cli(...store, 'quarantine', 'ls', '--json');
    expect(listed.code).toBe(0);
    const key = JSON.parse(listed.out.trim()).key as string;

    // Its ID has a record again: refused, nothing changes.
    const { registry: third } = registryOn(table, demoMachines, { durability: 'strict' });
    await third.start();
    await third.spawnSingleton('approval', 'q/1');
    await third.close();
    expect(await cli(...store, 'quarantine', 'restore', key)).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^error INSTANCE_EXISTS/),
    });
    await sql(`DELETE FROM ${table} WHERE id = 'q/1'`);
    expect(await cli(...store, 'quarantine', 'restore', key)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^restored /),
    });
    expect(await sql(`SELECT id, record FROM ${table}`)).toEqual([
      { id: 'q/1', record: '{"not":"a record"}' },
    ]);
    expect(await cli(...store, 'quarantine', 'ls')).toMatchObject({ code: 0, out: '' });
  }, 60_000);

  // Reading ran the store's whole setup: a mistyped --table made a fresh set
  // of tables (and listed nothing, exit 0), and a schema-1 table was migrated,
  // rewritten under an exclusive lock, by a read (found by an attack on the CLI).
  it('reading changes nothing: a missing table is refused, not created; a schema-1 table is refused, not migrated', async () => {
    const typo = `${freshTable()}_typo`;
    const relations = () =>
      sql(`SELECT relname FROM pg_class WHERE relname LIKE $1 ORDER BY relname`, [`${typo}%`]);
    for (const command of [
      ['ls'],
      ['show', 'x'],
      ['history', 'x'],
      ['quarantine', 'ls'],
      ['purge', 'x'],
    ]) {
      const r = await cli('--store', server.url as string, '--table', typo, ...command);
      expect(r, command.join(' ')).toMatchObject({
        code: 1,
        err: expect.stringMatching(/^error INVALID_ARGUMENT: Table \S+ does not exist/),
      });
    }
    expect(await relations()).toEqual([]);

    const old = freshTable();
    await createSchema1Table(old);
    const columns = () =>
      sql(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name`,
        [old],
      );
    const before = await columns();
    for (const command of [['ls'], ['show', 'x'], ['purge', 'x']]) {
      const r = await cli('--store', server.url as string, '--table', old, ...command);
      expect(r, command.join(' ')).toMatchObject({
        code: 1,
        err: expect.stringMatching(/^error STORE_CLOSED: Table \S+ has schema version 1, older/),
      });
    }
    expect(await columns()).toEqual(before);
    expect(await sql(`SELECT version FROM ${old}_schema`)).toEqual([{ version: 1 }]);
  }, 60_000);

  it('masks the password in every form a URL carries one', async () => {
    for (const [url, secret] of [
      ['postgres://u:s3cret@127.0.0.1:1/db', 's3cret'],
      ['postgres://u:se/cret@127.0.0.1:1/db', 'cret'],
      ['postgres://u:se@cret@127.0.0.1:1/db', 'se@cret'],
      ['postgres://u@127.0.0.1:1/db?password=s3cret', 's3cret'],
    ] as const) {
      const r = await cli('--store', url, 'ls');
      expect(r.code, url).toBe(1);
      expect(r.err, url).toMatch(/^error INVALID_ARGUMENT: /);
      expect(r.err, url).not.toContain(secret);
    }
  }, 60_000);
});
