import { afterEach, describe, expect, it } from 'vitest';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { machines } from './fixtures.js';
import { heap } from './support/heap.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

let r: TestRegistry<typeof machines> | undefined;
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
});

describe('idempotency keys and passivation memory', () => {
  // 400 instances x 100 keys of 240 characters: about 13 MB of keys if they stayed in memory.
  const instances = 400;
  const keys = 100;
  const key = (i: number, k: number) => `${String(i).padStart(4, '0')}-${k}-`.padEnd(240, 'k');

  it('a passivated instance keeps only its index entry: its idempotency keys stay in the store', async () => {
    r = await createTestRegistry({ machines, idleTimeoutMs: 1000, idempotency: { maxKeys: keys } });
    for (let i = 0; i < instances; i++) {
      await r.spawnSingleton('counter', `c${i}`);
      for (let k = 0; k < keys; k++)
        await r.send(`c${i}`, { type: 'INC' }, { idempotencyKey: key(i, k) });
    }
    await r.flush();
    const live = heap();
    r.clock.increment(5000);
    for (let i = 0; i < 20; i++) await settle();
    expect(r.get('c0')).toBeUndefined(); // passivated
    const passive = heap();
    // The keys (~13 MB measured; ~1.7 MB freed when they stayed) left memory with the actors.
    expect(live - passive).toBeGreaterThan(7_000_000);
    // And they still work after activation: a repeat is not applied, a new key is.
    await r.send('c7', { type: 'INC' }, { idempotencyKey: key(7, 0) });
    await r.send('c7', { type: 'INC' }, { idempotencyKey: key(7, 99) });
    await r.send('c7', { type: 'INC' }, { idempotencyKey: 'new' });
    expect((await r.getStatus('c7'))?.context).toMatchObject({ count: keys + 1 });
  });

  it('a restart with passivation on does not load the idempotency keys of passive instances', async () => {
    r = await createTestRegistry({ machines, idleTimeoutMs: 1000, idempotency: { maxKeys: keys } });
    for (let i = 0; i < instances; i++) {
      await r.spawnSingleton('counter', `c${i}`);
      for (let k = 0; k < keys; k++)
        await r.send(`c${i}`, { type: 'INC' }, { idempotencyKey: key(i, k) });
    }
    await r.flush();
    const before = heap();
    r = await r.restart();
    expect(r.get('c0')).toBeUndefined();
    const after = heap();
    expect(after - before).toBeLessThan(6_000_000); // ~0.3 MB; 12.6 MB when the keys were loaded
    await r.send('c3', { type: 'INC' }, { idempotencyKey: key(3, 50) });
    expect((await r.getStatus('c3'))?.context).toMatchObject({ count: keys });
  });
});
