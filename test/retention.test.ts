import { expect, it } from 'vitest';
import { createRegistry, MemoryStore } from '../src/index.js';
import { machines } from './fixtures.js';

it('purged instances leave no pending write behind, even when purged before their first write', async () => {
  const registry = createRegistry({ machines, store: new MemoryStore() });
  await registry.start();
  // No macrotask runs in this loop, so the write-behind queue (drained on a later
  // turn of the event loop) still holds every instance when it is purged.
  for (let i = 0; i < 50; i++) {
    await registry.spawnSingleton('counter', `c${i}`);
    await registry.purge(`c${i}`, { force: true });
  }
  await registry.spawnSingleton('counter', 'kept');
  expect(registry.stats()).toEqual({
    instances: 1,
    live: 1,
    passive: 0,
    pendingWrites: 1,
    waiters: 0,
  });
  await registry.flush();
  expect(registry.stats().pendingWrites).toBe(0);
  await registry.close();
});
