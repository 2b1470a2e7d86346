import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, isRegistryError, type RegistryError } from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { entries, machines } from './fixtures.js';

let r: TestRegistry<typeof machines>;
afterEach(async () => {
  await r?.close().catch(() => {});
  entries.clear();
});

/** Lets the passivation's store writes (real promises) settle after the clock moved. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return isRegistryError(err) ? err.code : String(err);
  }
}

async function passivate() {
  r.clock.increment(120_000);
  await settle();
  expect(r.get('c')).toBeUndefined();
}

describe('registry.actor(type, id): a stable handle', () => {
  it('delivers every send across passivation and replacement, where the raw actor goes dead', async () => {
    r = await createTestRegistry({ machines, idleTimeoutMs: 60_000 });
    const raw = await r.spawnSingleton('counter', 'c');
    const handle = r.actor('counter', 'c');
    await handle.send({ type: 'INC' });
    await passivate();
    // The raw actor was stopped by passivation: its send is lost, but loudly.
    const errors: RegistryError[] = [];
    r.on('error', (err) => errors.push(err));
    raw.send({ type: 'INC' });
    expect(raw.getSnapshot().status).toBe('stopped');
    expect(errors.map((e) => [e.code, e.details])).toEqual([
      ['STALE_ACTOR', { id: 'c', eventType: 'INC' }],
    ]);
    expect((await handle.getSnapshot()).context.count).toBe(1);
    // The handle's send activates the instance and lands.
    await handle.send({ type: 'INC' });
    expect((await handle.getSnapshot()).context.count).toBe(2);
    expect(r.get('c')).not.toBe(raw);
    // Replaced: the handle addresses the new actor.
    await handle.send({ type: 'FINISH' });
    expect((await handle.getSnapshot()).status).toBe('done');
    await r.spawnSingleton('counter', 'c', { ifFinished: 'replace', input: { label: 'second' } });
    await handle.send({ type: 'INC' });
    const after = await handle.getSnapshot();
    expect(after).toMatchObject({ status: 'running', context: { count: 1, label: 'second' } });
  });

  // Only a stopped (detached) actor was reported: one that finished by itself
  // or failed, then was replaced, dropped sends with XState's console warning
  // alone; so did the inert actor of a finished instance (found by an attack).
  it.each(['done', 'error', 'inert after a restart'] as const)(
    'a send to the actor object of an instance that finished (%s) is reported as STALE_ACTOR, before and after a replacement',
    async (how) => {
      r = await createTestRegistry({ machines });
      const type = how === 'error' ? 'failingOnStart' : 'counter';
      let old = await r.spawnSingleton(type as 'counter', 'q');
      if (how !== 'error') await r.send('q', { type: 'FINISH' });
      expect((await r.getStatus('q'))?.status).toBe(how === 'error' ? 'error' : 'done');
      if (how === 'inert after a restart') {
        r = await r.restart();
        old = await r.spawnSingleton('counter', 'q');
      }
      const errors: RegistryError[] = [];
      r.on('error', (err) => errors.push(err));
      old.send({ type: 'INC' });
      await r.spawnSingleton(type as 'counter', 'q', { ifFinished: 'replace' });
      old.send({ type: 'INC' });
      expect(errors.map((e) => [e.code, e.details])).toEqual([
        ['STALE_ACTOR', { id: 'q', eventType: 'INC' }],
        ['STALE_ACTOR', { id: 'q', eventType: 'INC' }],
      ]);
    },
  );

  // Both waits rejected INSTANCE_NOT_FOUND ("purged or taken over") although the ID was running again.
  it('a wait pending across a replacement follows the new instance; across a purge it rejects', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    await r.stop('c', 'first run over');
    const handle = r.actor('counter', 'c');
    const viaRegistry = r.waitFor('c', 'running');
    const viaHandle = handle.waitFor((s) => s.status === 'running' && s.context.count === 1);
    await new Promise((resolve) => setImmediate(resolve)); // both are waiting on the stopped one
    expect(r.stats().waiters).toBe(2);
    await r.spawnSingleton('counter', 'c', { ifFinished: 'replace' });
    await handle.send({ type: 'INC' });
    expect((await viaRegistry).status).toBe('running');
    expect((await viaHandle).context.count).toBe(1);
    const gone = handle.waitFor((s) => s.context.count === 5);
    await r.purge('c', { force: true });
    expect(await codeOf(gone)).toBe('INSTANCE_NOT_FOUND');
  });

  it('keeps working across a restart by another registry over the same store', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    const old = r.actor('counter', 'c');
    await old.send({ type: 'INC' });
    const completed: string[] = [];
    old.subscribe({ complete: () => completed.push('complete') });
    r = await r.restart();
    // The closed registry's handle fails loudly instead of dropping the event.
    expect(completed).toEqual(['complete']);
    expect(await codeOf(old.send({ type: 'INC' }))).toBe('REGISTRY_CLOSED');
    // Subscribing after the close completes at once: it used to wait for ever,
    // and the closed registry kept the observer.
    const late: string[] = [];
    const sub = old.subscribe({
      next: () => late.push('next'),
      error: (err) => late.push(`error ${err.code}`),
      complete: () => late.push('complete'),
    });
    expect(late).toEqual(['complete']);
    sub.unsubscribe();
    const fresh = r.actor('counter', 'c');
    await fresh.send({ type: 'INC' });
    expect((await fresh.getSnapshot()).context.count).toBe(2);
  });

  it('subscribers of a registry closed before it ever started are told complete', async () => {
    const never = createRegistry({ machines });
    const seen: string[] = [];
    never.actor('counter', 'c').subscribe({ complete: () => seen.push('before close') });
    await never.close();
    never.actor('counter', 'c').subscribe({ complete: () => seen.push('after close') });
    expect(seen).toEqual(['before close', 'after close']);
  });

  it('subscribe sees every change across passivation and replacement, then errors once purged', async () => {
    r = await createTestRegistry({ machines, idleTimeoutMs: 60_000 });
    const handle = r.actor('counter', 'c');
    const seen: Array<[string, number]> = [];
    const errors: RegistryError[] = [];
    handle.subscribe({
      next: (s) => seen.push([s.status, s.context.count]),
      error: (err) => errors.push(err),
    });
    await r.spawnSingleton('counter', 'c');
    await handle.send({ type: 'INC' });
    await passivate();
    await handle.send({ type: 'INC' });
    await handle.send({ type: 'FINISH' });
    await r.spawnSingleton('counter', 'c', { ifFinished: 'replace' });
    await handle.send({ type: 'INC' });
    expect(seen).toEqual([
      ['running', 0],
      ['running', 1],
      ['running', 2],
      ['done', 2],
      ['running', 0],
      ['running', 1],
    ]);
    await r.purge('c', { force: true });
    expect(errors.map((e) => e.code)).toEqual(['INSTANCE_NOT_FOUND']);
    expect(await codeOf(handle.send({ type: 'INC' }))).toBe('INSTANCE_NOT_FOUND');
    expect(await codeOf(handle.getSnapshot())).toBe('INSTANCE_NOT_FOUND');
    expect(await codeOf(handle.stop())).toBe('INSTANCE_NOT_FOUND');
  });

  it('unsubscribe stops the calls, and a throwing subscriber is reported, not propagated', async () => {
    r = await createTestRegistry({ machines });
    const reported: string[] = [];
    r.on('error', (err) => reported.push(err.code));
    const handle = r.actor('counter', 'c');
    let calls = 0;
    const sub = handle.subscribe(() => {
      calls++;
      throw new Error('bad subscriber');
    });
    await r.spawnSingleton('counter', 'c');
    await handle.send({ type: 'INC' });
    expect(calls).toBe(2);
    expect(reported).toEqual(['LISTENER_FAILED', 'LISTENER_FAILED']);
    sub.unsubscribe();
    await handle.send({ type: 'INC' });
    expect(calls).toBe(2);
    expect((await handle.getSnapshot()).context.count).toBe(2);
  });

  it('waitFor resolves on a typed predicate, times out on the test clock, and aborts by signal', async () => {
    r = await createTestRegistry({ machines, idleTimeoutMs: 60_000 });
    await r.spawnSingleton('counter', 'c');
    const handle = r.actor('counter', 'c');
    const two = handle.waitFor((s) => s.context.count >= 2, { timeoutMs: 10_000 });
    await handle.send({ type: 'INC' });
    await handle.send({ type: 'INC' });
    expect((await two).context.count).toBe(2);
    const never = handle.waitFor('done', { timeoutMs: 1000 });
    await settle(); // the waiter arms its timer once the registry is ready
    r.clock.increment(1000);
    expect(await codeOf(never)).toBe('TIMEOUT');
    const controller = new AbortController();
    const aborted = handle.waitFor('done', { signal: controller.signal });
    controller.abort();
    expect(await codeOf(aborted)).toBe('ABORTED');
    // A passivated instance is activated to be watched.
    await passivate();
    const done = handle.waitFor('done');
    await handle.send({ type: 'FINISH' });
    expect((await done).output).toEqual({ total: 2 });
  });

  it('stop() stops the instance wherever it is', async () => {
    r = await createTestRegistry({ machines, idleTimeoutMs: 60_000 });
    await r.spawnSingleton('counter', 'c');
    const handle = r.actor('counter', 'c');
    await passivate();
    expect(await handle.stop('done with it')).toMatchObject({
      status: 'stopped',
      stopReason: 'done with it',
    });
  });

  it('rejects a bad type or ID at once, and the wrong type with TYPE_MISMATCH', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    expect(() => r.actor('nope' as never, 'c')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_MACHINE' }),
    );
    expect(() => r.actor('counter', '')).toThrow(
      expect.objectContaining({ code: 'INVALID_INSTANCE_ID' }),
    );
    const wrong = r.actor('reminder', 'c');
    expect(await codeOf(wrong.getSnapshot())).toBe('TYPE_MISMATCH');
    expect(await codeOf(wrong.waitFor('done'))).toBe('TYPE_MISMATCH');
    expect(await codeOf(r.getStatus('c', { type: 'reminder' }))).toBe('TYPE_MISMATCH');
  });
});

// Found by an attack on the lifecycle: each was taken, then failed later as a
// raw TypeError, or lost acknowledged events.
describe('arguments a handle or the registry would fail on later are refused at once', () => {
  it('subscribe(null) is INVALID_ARGUMENT; the instance keeps applying every send', async () => {
    const t = await createTestRegistry({ machines });
    await t.spawnSingleton('counter', 'a');
    const handle = t.actor('counter', 'a');
    for (const bad of [null, undefined, 5, 'next'])
      expect(() => handle.subscribe(bad as never), String(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    for (let i = 0; i < 4; i++) await t.send('a', { type: 'INC' });
    expect((await t.getStatus('a'))?.context).toMatchObject({ count: 4 });
    await t.close();
  });

  it.each([
    ['maxPendingWrites: 0', { maxPendingWrites: 0 }],
    ['maxPendingWrites: -1', { maxPendingWrites: -1 }],
    ['maxPendingWrites: NaN', { maxPendingWrites: Number.NaN }],
    ['clock: {}', { clock: {} }],
    ['logger: 5', { logger: 5 }],
  ])('createRegistry refuses %s with INVALID_ARGUMENT', (_, options) => {
    expect(() =>
      createRegistry({ machines, durability: 'strict', ...(options as object) }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('maxPendingWrites: Infinity is no backpressure, and strict sends resolve', async () => {
    const t = await createTestRegistry({
      machines,
      durability: 'strict',
      maxPendingWrites: Number.POSITIVE_INFINITY,
    });
    await t.spawnSingleton('counter', 'a');
    await t.send('a', { type: 'INC' });
    expect((await t.getStatus('a'))?.context).toMatchObject({ count: 1 });
    await t.close();
  });
});
