/**
 * A hydration that fails after its actor has started (re-arming its delayed
 * events throws) sets the record aside: the actor must stop there too. It used
 * to run on, unhosted: its own timers moved it on, and the registry wrote the
 * record that had just been set aside back into the store (and after close(),
 * retried that write for ever). The fault is injected into the one step after
 * the actor starts; nothing in a valid record makes it throw.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRegistry, MemoryStore } from '../src/index.js';
import { TestClock } from '../src/testing/index.js';
import { entries, machines } from './fixtures.js';

const fault = vi.hoisted(() => ({ armed: false }));
vi.mock('../src/xstate-internals/scheduler.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/xstate-internals/scheduler.js')>();
  return {
    ...real,
    restoreTimers: (...args: Parameters<typeof real.restoreTimers>) => {
      if (fault.armed) {
        fault.armed = false;
        throw new Error('injected: re-arming the delayed events failed');
      }
      return real.restoreTimers(...args);
    },
  };
});

afterEach(() => {
  fault.armed = false;
  entries.clear();
});

/** A store holding one running 'reminder' (its `after: 1000` pending) and one counter. */
async function seeded(clock: TestClock): Promise<MemoryStore> {
  const store = new MemoryStore();
  const r = createRegistry({ machines, store, clock });
  await r.start();
  await r.spawnSingleton('reminder', 'a');
  await r.spawnSingleton('counter', 'bystander');
  await r.close();
  return store;
}

describe('a hydration that fails after its actor started', () => {
  it('at start(): the record is set aside and its actor stops, so it never writes again', async () => {
    const clock = new TestClock(1_000_000);
    const store = await seeded(clock);
    fault.armed = true;
    const r = createRegistry({ machines, store, clock });
    const summary = await r.start();
    expect(summary.quarantined.map((q) => [q.id, q.code])).toEqual([['a', 'RESTORE_FAILED']]);
    expect(store.peek('a')).toBeUndefined();
    // The actor's own `after: 1000` falls due: a live actor would move on and be written.
    clock.increment(5_000);
    await r.flush();
    expect(store.peek('a')).toBeUndefined();
    expect(await r.getStatus('a')).toBeUndefined();
    expect((await r.getStatus('bystander'))?.status).toBe('running');
    await r.close();
  });

  // Activation already stopped its actor and retired its write; kept beside the
  // start-up case so that the one hydration path keeps one policy.
  it('at activation of a passivated instance: the same', async () => {
    const clock = new TestClock(1_000_000);
    const store = await seeded(clock);
    const r = createRegistry({ machines, store, clock, idleTimeoutMs: 60_000 });
    await r.start();
    // Passivate the counter (the reminder is due sooner, so it stays live), then wake it.
    clock.increment(120_000);
    await new Promise((resolve) => setImmediate(resolve));
    await r.flush();
    expect(r.get('bystander')).toBeUndefined();
    fault.armed = true;
    await expect(r.send('bystander', { type: 'INC' })).rejects.toMatchObject({
      code: 'RESTORE_FAILED',
    });
    expect(store.peek('bystander')).toBeUndefined();
    clock.increment(5_000);
    await r.flush();
    expect(store.peek('bystander')).toBeUndefined();
    await r.close();
  });
});
