import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { freshTable, noPg, server, sql, until } from './helpers.js';
import { type Worker, workerPool } from './workers.js';

// Mail whose result the owner cannot store (the state would pass maxRecordBytes):
// real processes on one database.
const start = workerPool(server.url);

const inboxSize = (table: string) =>
  sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}_inbox`).then((r) => Number(r[0]?.n));
const errorsOf = async (w: Worker) => ((await w.call({ op: 'errors' })).errors as string[]) ?? [];
const tooLarge = (errors: string[]) => errors.filter((e) => e.startsWith('SNAPSHOT_TOO_LARGE'));

describe.skipIf(noPg)('mail whose result cannot be stored', () => {
  it('is reported once with its idempotency key, not retried at every sweep, never lost, and written with the first state that fits', async () => {
    const table = freshTable();
    process.env.XR_MAX_RECORD_BYTES = '40000';
    let owner: Worker;
    let sender: Worker;
    try {
      // A long lease: the owner must keep 'big' throughout (two test files run
      // at once, and a process starved of CPU past a 1 s lease would lose it).
      [owner, sender] = (await start(2, table, 'strict', 'v1', 30_000)) as [Worker, Worker];
    } finally {
      delete process.env.XR_MAX_RECORD_BYTES;
    }
    expect((await owner.call({ op: 'ensure', type: 'stash', id: 'big' })).created).toBe(true);
    // Mailed (the owner hosts it): acknowledged once committed to the inbox.
    const sent = await sender.call({
      op: 'send',
      id: 'big',
      event: { type: 'STORE', data: 'x'.repeat(50_000) },
      key: 'store-big-1',
    });
    expect(sent).toMatchObject({ ok: true });
    const reports = await until(
      () => errorsOf(owner),
      (e) => e.some((line) => line.includes("idempotency key 'store-big-1'")),
      'the owner to report the mail it cannot store',
      30_000,
    );
    const first = tooLarge(reports).length;
    // Ten takeover sweeps (200 ms each) later: not retried, not reported again.
    await sleep(2_000);
    const later = await errorsOf(owner);
    expect(tooLarge(later).length).toBe(first);
    expect(later.filter((line) => line.includes("'store-big-1'"))).toHaveLength(1);
    // Never lost: still in the inbox, while nothing durable holds its effect.
    expect(await inboxSize(table)).toBe(1);
    // A later state that fits is written with both keys, and both messages are deleted.
    await sender.call({ op: 'send', id: 'big', event: { type: 'CLEAR' }, key: 'clear-1' });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the inbox to be drained once the state fits',
      30_000,
    );
    const [row] = await sql<{ keys: Array<[string, number]>; data: string[] }>(
      `SELECT record::jsonb->'idempotencyKeys' AS keys, record::jsonb->'snapshot'->'context'->'data' AS data FROM ${table} WHERE id = 'big'`,
    );
    expect(row?.data).toEqual([]);
    expect(row?.keys.map(([k]) => k)).toEqual(['store-big-1', 'clear-1']);
    // A retry of the refused send is recognised: it is not applied again.
    await sender.call({
      op: 'send',
      id: 'big',
      event: { type: 'STORE', data: 'x'.repeat(50_000) },
      key: 'store-big-1',
    });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the retry to be drained',
      30_000,
    );
    expect((await owner.call({ op: 'status', id: 'big' })).status.context).toEqual({ data: [] });
  }, 120_000);
});
