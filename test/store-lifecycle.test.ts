import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, SimulatedClock } from 'xstate';
import {
  createRegistry,
  FileStore,
  MemoryStore,
  type Store,
  type StoredEntry,
} from '../src/index.js';
import { machines } from './fixtures.js';
import { tempDir } from './helpers.js';

const stores: Array<[string, () => Promise<Store>]> = [
  ['MemoryStore', async () => new MemoryStore()],
  ['FileStore', async () => new FileStore({ dir: await tempDir() })],
];

describe.each(stores)('%s: a registry closes only the store it opened', (_name, make) => {
  it("a second registry's failed start and close leave the first one's store working", async () => {
    const store = await make();
    const first = createRegistry({ machines, store });
    await first.start();
    await first.spawnSingleton('counter', 'kept');
    const second = createRegistry({ machines, store });
    await expect(second.start()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await second.close();
    await first.send('kept', { type: 'INC' });
    await first.spawnSingleton('counter', 'later');
    await first.flush();
    await first.close();
    const third = createRegistry({ machines, store });
    const summary = await third.start();
    expect(summary.restored).toBe(2);
    expect(third.get('kept')?.getSnapshot().context.count).toBe(1);
    await third.close();
  });

  it('close() on a registry that never started resolves, and leaves the store to its owner', async () => {
    const store = await make();
    const owner = createRegistry({ machines, store });
    await owner.start();
    await createRegistry({ machines, store }).close();
    await owner.spawnSingleton('counter', 'x');
    await owner.flush();
    await owner.close();
  });
});

/** Fault injection: a store whose load fails after yielding `after` entries, `times` times. */
class FailingLoad extends FileStore {
  times = 1;
  override async *load(): AsyncIterable<StoredEntry> {
    let n = 0;
    for await (const entry of super.load()) {
      if (this.times > 0 && n++ === 1) {
        this.times--;
        throw Object.assign(new Error('EIO: i/o error, scandir'), { code: 'EIO' });
      }
      yield entry;
    }
  }
}

describe('a failed start()', () => {
  it('stops what it restored, releases the lock, and can be retried', async () => {
    const dir = await tempDir();
    const before = createRegistry({ machines, store: new FileStore({ dir }) });
    await before.start();
    for (const id of ['a', 'b', 'c']) await before.spawnSingleton('counter', id);
    await before.flush();
    await before.close();
    const store = new FailingLoad({ dir });
    const registry = createRegistry({ machines, store });
    const restored: AnyActorRef[] = [];
    registry.on('restored', ({ actor }) => restored.push(actor));
    await expect(registry.start()).rejects.toThrow(/EIO/);
    expect(restored.length).toBeGreaterThan(0);
    // What it had restored no longer runs...
    for (const actor of restored) expect(actor.getSnapshot().status).toBe('stopped');
    // ...nor writes.
    const text = await readFile(store.pathOf('a'), 'utf8');
    // ...and the lock is free: another process could take the directory.
    const other = new FileStore({ dir });
    await other.open();
    await other.close();
    expect(await readFile(store.pathOf('a'), 'utf8')).toBe(text);
    // The same registry may try again.
    const summary = await registry.start();
    expect(summary.restored).toBe(3);
    await registry.send('a', { type: 'INC' });
    await registry.close();
  });

  it('with passivation: the retried start still wakes passivated instances when their timers fall due', async () => {
    const dir = await tempDir();
    const clock = new SimulatedClock();
    clock.set(Date.UTC(2026, 0, 1));
    const before = createRegistry({ machines, store: new FileStore({ dir }), clock });
    await before.start();
    for (const id of ['r1', 'r2', 'r3']) await before.spawnSingleton('reminder', id);
    await before.close();
    const store = new FailingLoad({ dir });
    const registry = createRegistry({ machines, store, clock, idleTimeoutMs: 60_000 });
    await expect(registry.start()).rejects.toThrow(/EIO/);
    expect(await registry.start()).toMatchObject({ passive: 3 });
    const woken = new Set<string>();
    const allWoken = new Promise<void>((resolve) =>
      registry.on('activated', ({ id }) => {
        woken.add(id);
        if (woken.size === 3) resolve();
      }),
    );
    clock.increment(1500); // 'reminded' falls due at 1,000 ms
    await allWoken;
    await registry.flush();
    for (const id of ['r1', 'r2', 'r3'])
      expect(await registry.getStatus(id)).toMatchObject({ value: 'reminded' });
    await registry.close();
  });

  it('close() after a failed start resolves', async () => {
    const dir = await tempDir();
    const holder = new FileStore({ dir });
    await holder.open();
    const registry = createRegistry({ machines, store: new FileStore({ dir }) });
    await expect(registry.start()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await registry.close();
    await holder.close();
  });
});

describe('close() leaves nothing scheduled', () => {
  const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;

  it.each(stores)(
    '%s: no write drain is left queued to hold the closed registry and its actors',
    async (_name, make) => {
      const before = immediates();
      const registry = createRegistry({ machines, store: await make() });
      await registry.start();
      // Spawns resolve without yielding to the event loop (on the memory store),
      // so their write drain is still queued when close() begins.
      for (let i = 0; i < 20; i++) await registry.spawnSingleton('counter', `c${i}`);
      await registry.close();
      // A queued drain would keep the persister, the instance table and every
      // actor reachable until the event loop turns: a process that opens and
      // closes registries without turning it (a test suite, a benchmark) grows.
      expect(immediates()).toBe(before);
    },
  );
});
