import { describe, expect, it } from 'vitest';
import { createHttpHandler } from '../../src/http/index.js';
import { counter } from '../fixtures.js';
import { freshTable, noPg, pgRegistries } from './helpers.js';

const { registryOn } = pgRegistries();
const machines = { counter };

describe.skipIf(noPg)('history in a PostgreSQL store', () => {
  it('is read from the row by another process, and continues after that process adopts it', async () => {
    const table = freshTable();
    const a = registryOn(table, machines, { history: {} }).registry;
    await a.start();
    await a.spawnSingleton('counter', 'c');
    await a.send('c', { type: 'INC' });
    await a.send('c', { type: 'INC' });
    await a.flush();
    const written = await a.history('c');
    expect(written.items.map((e) => [e.seq, e.source, e.event.type])).toEqual([
      [1, 'api', 'INC'],
      [2, 'api', 'INC'],
    ]);

    const b = registryOn(table, machines, { history: {} }).registry;
    await b.start();
    // Hosted by a: b reads it from the row.
    expect(await b.history('c')).toEqual(written);
    await expect(b.history('nope')).rejects.toMatchObject({ code: 'INSTANCE_NOT_FOUND' });

    await a.close(); // gives its lease back: b adopts on the next send
    await b.send('c', { type: 'INC' });
    expect((await b.history('c')).items.map((e) => e.seq)).toEqual([1, 2, 3]);
    await b.flush();

    // And after b restarts too.
    await b.close();
    const c = registryOn(table, machines, { history: {} }).registry;
    await c.start();
    expect((await c.history('c')).items.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  // They were journaled as 'direct': the owner applied mail with actor.send.
  it("journals a send mailed from another process as 'api', and one from its HTTP API as 'http'", async () => {
    const table = freshTable();
    const a = registryOn(table, machines, { history: {} }).registry;
    const b = registryOn(table, machines, { history: {} }).registry;
    await a.start();
    await b.start();
    await a.spawnSingleton('counter', 'c');
    await a.flush();
    await b.send('c', { type: 'INC' });
    const response = await createHttpHandler(b)(
      new Request('http://localhost/instances/c/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'INC' }),
      }),
    );
    expect(response.status).toBeLessThan(300);
    const sources = async () => (await a.history('c')).items.map((e) => e.source);
    for (let i = 0; i < 200 && (await sources()).length < 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(await sources()).toEqual(['api', 'http']);
  });

  it('keeps at most maxEntries in the row', async () => {
    const table = freshTable();
    const a = registryOn(table, machines, { history: { maxEntries: 2 } }).registry;
    await a.start();
    await a.spawnSingleton('counter', 'c');
    for (let i = 0; i < 4; i++) await a.send('c', { type: 'INC' });
    await a.flush();
    const b = registryOn(table, machines, { history: { maxEntries: 2 } }).registry;
    await b.start();
    expect((await b.history('c')).items.map((e) => e.seq)).toEqual([3, 4]);
  });
});
