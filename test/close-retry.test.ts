import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { createRegistry, MemoryStore } from '../src/index.js';
import { machines } from './fixtures.js';

/** Keeps what it is told: a state that can grow past any limit. */
const note = setup({
  types: { context: {} as { text: string }, events: {} as { type: 'SET'; text: string } },
}).createMachine({
  id: 'note',
  context: { text: '' },
  on: { SET: { actions: assign({ text: ({ event }) => event.text }) } },
});
const all = { ...machines, note };

/** A memory store whose writes fail while `failing` (a database restarting, a full disk). */
class FlakyStore extends MemoryStore {
  failing = false;
  closes = 0;
  override async write(...args: Parameters<MemoryStore['write']>): Promise<void> {
    if (this.failing) throw Object.assign(new Error('connection terminated'), { code: 'EIO' });
    return super.write(...args);
  }
  override async close(): Promise<void> {
    this.closes++;
    return super.close();
  }
}

/** A started registry hosting counter 'c', written, over a store whose writes now fail. */
async function failingUnder(durability: 'relaxed' | 'strict') {
  const store = new FlakyStore();
  const registry = createRegistry({ machines, store, durability });
  registry.on('error', () => {});
  await registry.start();
  await registry.spawnSingleton('counter', 'c');
  await registry.flush();
  store.failing = true;
  return { store, registry };
}

describe.each(['relaxed', 'strict'] as const)('close() that fails to write (%s)', (durability) => {
  it('rejects naming the instances, keeps their state, and a later close() writes it and closes the store', async () => {
    const { store, registry } = await failingUnder(durability);
    // Relaxed sends are acknowledged before their write; strict ones are rejected but applied.
    for (let i = 0; i < 3; i++) await registry.send('c', { type: 'INC' }).catch(() => {});
    await expect(registry.close()).rejects.toMatchObject({
      code: 'PERSIST_FAILED',
      details: { ids: ['c'] },
    });
    // The store is not given up while it still owes writes.
    expect(store.closes).toBe(0);
    // Closing stays closing: nothing new gets in meanwhile.
    await expect(registry.send('c', { type: 'INC' })).rejects.toMatchObject({
      code: 'REGISTRY_CLOSED',
    });

    store.failing = false;
    await registry.close();
    expect(store.closes).toBe(1);
    expect(JSON.parse(store.peek('c') as string).snapshot.context.count).toBe(3);
    // Closed for good: a third close() resolves at once.
    await registry.close();
    expect(store.closes).toBe(1);

    const again = createRegistry({ machines, store });
    await again.start();
    expect(again.get('c')?.getSnapshot().context.count).toBe(3);
    await again.close();
  });

  it('with a state that can never be stored beside it: the retry closes the store, and names only that one', async () => {
    const store = new FlakyStore();
    const registry = createRegistry({ machines: all, store, durability, maxRecordBytes: 4000 });
    registry.on('error', () => {});
    await registry.start();
    await registry.spawnSingleton('counter', 'ok');
    await registry.spawnSingleton('note', 'big');
    await registry.flush();
    store.failing = true;
    await registry.send('ok', { type: 'INC' }).catch(() => {});
    await registry.send('big', { type: 'SET', text: 'x'.repeat(8000) }).catch(() => {});
    await expect(registry.close()).rejects.toMatchObject({
      details: { failures: { ok: 'PERSIST_FAILED', big: 'SNAPSHOT_TOO_LARGE' } },
    });
    expect(store.closes).toBe(0);
    store.failing = false;
    await expect(registry.close()).rejects.toMatchObject({
      code: 'SNAPSHOT_TOO_LARGE',
      details: { ids: ['big'] },
    });
    expect(store.closes).toBe(1);
    expect(JSON.parse(store.peek('ok') as string).snapshot.context.count).toBe(1);
    // Closed: a later close() answers the same, and closes nothing twice.
    await expect(registry.close()).rejects.toMatchObject({ code: 'SNAPSHOT_TOO_LARGE' });
    expect(store.closes).toBe(1);
  });

  it('finishes by itself once the background retries land: a caller that only logged the rejection does not hold the store for good', async () => {
    const { store, registry } = await failingUnder(durability);
    await registry.send('c', { type: 'INC' }).catch(() => {});
    await expect(registry.close()).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
    store.failing = false;
    // No second close(): the persister's retry (100 ms backoff) lands, and the close completes.
    for (let i = 0; i < 200 && store.closes === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(store.closes).toBe(1);
    expect(JSON.parse(store.peek('c') as string).snapshot.context.count).toBe(1);
    await registry.close();
    expect(store.closes).toBe(1);
  });
});
