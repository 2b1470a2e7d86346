import { beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { buildCli, cli } from '../support/cli.js';
import { freshTable, noPg, pgRegistries, server, sql } from './helpers.js';

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
});
