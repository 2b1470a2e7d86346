import { afterEach, describe, expect, it } from 'vitest';
import type { RegistryError } from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { machines } from './fixtures.js';

let r: TestRegistry<typeof machines>;
afterEach(async () => {
  await r?.close().catch(() => {});
});

/** Lets the passivation's store writes (real promises) settle after the clock moved. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function idleRegistry(idleTimeoutMs = 60_000) {
  r = await createTestRegistry({ machines, idleTimeoutMs });
  const log: string[] = [];
  r.on('passivated', ({ id }) => log.push(`passivated:${id}`));
  return log;
}

describe('activity for passivation', () => {
  it("spawnSingleton's fast path (the live actor returned) counts as activity", async () => {
    const log = await idleRegistry();
    const first = await r.spawnSingleton('counter', 'c');
    await r.clock.increment(50_000);
    // The live instance, nothing in flight: served by the fast path.
    expect(await r.spawnSingleton('counter', 'c')).toBe(first);
    await r.clock.increment(20_000);
    await settle();
    // Idle for 20 s only: the sweep at 60 s must leave it live.
    expect(log).toEqual([]);
    expect(r.get('c')).toBe(first);
    await r.clock.increment(60_000);
    await settle();
    expect(log).toEqual(['passivated:c']);
  });
});

describe('a caller who has gone', () => {
  it('an aborted waitFor leaves no waiter, so the instance passivates when idle', async () => {
    const log = await idleRegistry();
    await r.spawnSingleton('counter', 'c');
    const controller = new AbortController();
    const waiting = r.waitFor('c', 'done', { signal: controller.signal });
    await settle();
    expect(r.stats().waiters).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED', details: { id: 'c' } });
    expect(r.stats().waiters).toBe(0);
    await r.clock.increment(120_000);
    await settle();
    expect(log).toEqual(['passivated:c']);
  });
});

describe('a raw actor the registry no longer hosts', () => {
  async function detachedActorErrors(detach: (id: string) => Promise<unknown>) {
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    const actor = await r.spawnSingleton('counter', 'c');
    await detach('c');
    expect(actor.getSnapshot().status).toBe('stopped');
    actor.send({ type: 'INC' });
    return errors;
  }

  it('a send to the actor of a passivated instance is reported (STALE_ACTOR), naming the ID and the fix', async () => {
    await idleRegistry();
    const errors = await detachedActorErrors(async () => {
      await r.clock.increment(120_000);
      await settle();
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'STALE_ACTOR',
      details: { id: 'c', eventType: 'INC' },
    });
    expect(errors[0]?.message).toMatch(/registry\.send|registry\.actor/);
    // The instance itself is intact and takes the event through the registry.
    await r.send('c', { type: 'INC' });
    expect(r.get('c')?.getSnapshot().context.count).toBe(1);
  });

  it('a send to the actor of a replaced instance is reported too', async () => {
    r = await createTestRegistry({ machines });
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    const old = await r.spawnSingleton('counter', 'c');
    await r.stop('c');
    const fresh = await r.spawnSingleton('counter', 'c', { ifFinished: 'replace' });
    expect(fresh).not.toBe(old);
    old.send({ type: 'INC' });
    expect(errors.map((e) => e.code)).toEqual(['STALE_ACTOR']);
    expect(fresh.getSnapshot().context.count).toBe(0);
  });
});

describe('one failure policy for hydration: activation too', () => {
  const damage: Record<string, (text: string) => string> = {
    'cannot be decoded (CORRUPT_RECORD)': () => '{"not":"a record"',
    // A machine changed without a new version: the stored state no longer exists in it.
    'cannot be restored (RESTORE_FAILED)': (text) =>
      text.replace('"value":"active"', '"value":"renamed"'),
  };
  for (const [what, corrupt] of Object.entries(damage)) {
    it(`a passivated instance whose record ${what} is set aside, like at start, and not retried`, async () => {
      await idleRegistry();
      const quarantined: Array<string | undefined> = [];
      r.on('quarantined', ({ id }) => quarantined.push(id));
      await r.spawnSingleton('counter', 'c');
      await r.clock.increment(120_000);
      await settle();
      expect(r.stats().passive).toBe(1);
      const text = r.store.peek('c') as string;
      const damaged = corrupt(text);
      expect(damaged).not.toBe(text);
      await r.store.write('c', damaged);
      const code = what.includes('CORRUPT') ? 'CORRUPT_RECORD' : 'RESTORE_FAILED';
      await expect(r.send('c', { type: 'INC' })).rejects.toMatchObject({ code });
      expect(quarantined).toEqual(['c']);
      expect(r.store.peek('c')).toBeUndefined();
      // Out of the table: not activated (and failing) again on every call; the ID is free.
      expect(await r.getStatus('c')).toBeUndefined();
      await expect(r.send('c', { type: 'INC' })).rejects.toMatchObject({
        code: 'INSTANCE_NOT_FOUND',
      });
      expect((await r.ensureSingleton('counter', 'c')).created).toBe(true);
    });
  }
});
