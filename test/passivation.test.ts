import { afterEach, describe, expect, it } from 'vitest';
import {
  type AnyActorLogic,
  assign,
  fromCallback,
  fromObservable,
  fromPromise,
  setup,
} from 'xstate';
import { demoMachines } from '../examples/machines.js';
import { createRegistry, MemoryStore, type RegistryError } from '../src/index.js';
import { createTestRegistry, TestClock, type TestRegistry } from '../src/testing/index.js';
import { entries, machines } from './fixtures.js';
import { ScheduledStore } from './support/scheduled-store.js';

const all = { ...machines, ...demoMachines };
let r: TestRegistry<typeof all>;
afterEach(async () => {
  await r?.close().catch(() => {});
  entries.clear();
});

async function idleRegistry(idleTimeoutMs = 60_000) {
  r = await createTestRegistry({ machines: all, idleTimeoutMs });
  const log: string[] = [];
  r.on('passivated', ({ id }) => log.push(`passivated:${id}`));
  r.on('activated', ({ id }) => log.push(`activated:${id}`));
  return log;
}

/** Lets the passivation's store writes (real promises) settle after the clock moved. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('idle passivation', () => {
  it('unloads an idle actor; it stays addressable with its state', async () => {
    const log = await idleRegistry();
    const a = await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    r.clock.increment(59_000);
    await settle();
    expect(r.get('c')).toBe(a); // not idle long enough
    r.clock.increment(60_000);
    await settle();
    expect(log).toEqual(['passivated:c']);
    expect(r.get('c')).toBeUndefined();
    expect(a.getSnapshot().status).toBe('stopped');
    // getStatus and list read the stored record: no activation.
    expect(await r.getStatus('c')).toMatchObject({ status: 'running', context: { count: 1 } });
    expect((await r.list({ status: 'running' })).items.map((s) => s.context)).toEqual([
      { count: 1, label: 'none' },
    ]);
    expect(log).toEqual(['passivated:c']);
  });

  // It loaded b's state as a's: start() refused such a copy, activation did not look.
  it("another instance's record copied in place of a passivated one's is set aside, never loaded as its state", async () => {
    await idleRegistry();
    await r.spawnSingleton('counter', 'a');
    await r.spawnSingleton('counter', 'b');
    await r.send('b', { type: 'INC' });
    r.clock.increment(120_000);
    await settle();
    await r.flush();
    expect([r.get('a'), r.get('b')]).toEqual([undefined, undefined]);
    r.store.inject('a', r.store.peek('b') as string);
    // Reads of the sleeping instance do not show b's state as a's either.
    await expect(r.getStatus('a')).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    await expect(r.send('a', { type: 'INC' })).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    expect(await r.getStatus('a')).toBeUndefined();
    expect(r.store.quarantined.get('a')?.reason).toMatch(/holds instance 'b'/);
    // b itself is untouched.
    expect((await r.getStatus('b'))?.context).toMatchObject({ count: 1 });
  });

  it('a sleeping record that can be neither loaded nor set aside is never written over by a new instance of its ID', async () => {
    await idleRegistry();
    r.on('error', () => {});
    await r.spawnSingleton('counter', 'a');
    r.clock.increment(120_000);
    await settle();
    await r.flush();
    expect(r.get('a')).toBeUndefined();
    r.store.inject('a', '{damaged');
    // Fault injection: the store cannot move anything aside.
    r.store.quarantine = () => Promise.reject(new Error('EIO: cannot move'));
    await expect(r.send('a', { type: 'INC' })).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    await expect(r.spawnSingleton('counter', 'a')).rejects.toMatchObject({
      code: 'QUARANTINE_FAILED',
      details: { id: 'a' },
    });
    await r.flush();
    expect(r.store.peek('a')).toBe('{damaged');
  });

  it("nor is its journal read as the sleeping one's", async () => {
    r = await createTestRegistry({ machines: all, idleTimeoutMs: 60_000, history: {} });
    await r.spawnSingleton('counter', 'a');
    await r.spawnSingleton('counter', 'b');
    await r.send('b', { type: 'INC', by: 'secret' } as never);
    r.clock.increment(120_000);
    await settle();
    await r.flush();
    r.store.inject('a', r.store.peek('b') as string);
    await expect(r.history('a')).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    expect((await r.history('b')).items).toHaveLength(1);
  });

  it('send activates exactly once under 100 concurrent calls, without re-running entry actions', async () => {
    const log = await idleRegistry();
    await r.spawnSingleton('counter', 'c');
    r.clock.increment(120_000);
    await settle();
    expect(r.get('c')).toBeUndefined();
    await Promise.all(Array.from({ length: 100 }, () => r.send('c', { type: 'INC' })));
    expect(log).toEqual(['passivated:c', 'activated:c']);
    expect(r.get('c')?.getSnapshot().context.count).toBe(100);
    expect(entries.get('c')).toBe(1);
  });

  it('spawnSingleton and waitFor activate it, once, and every caller gets the same actor', async () => {
    const log = await idleRegistry();
    await r.spawnSingleton('counter', 'c');
    r.clock.increment(120_000);
    await settle();
    const waiting = r.waitFor('c', (s) => (s.context as { count: number }).count === 1);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => r.ensureSingleton('counter', 'c')),
    );
    expect(new Set(results.map((x) => x.actor)).size).toBe(1);
    expect(results[0]?.actor).toBe(r.get('c'));
    expect(results.filter((x) => x.created)).toHaveLength(0);
    expect(log.filter((l) => l.startsWith('activated'))).toEqual(['activated:c']);
    await r.send('c', { type: 'INC' });
    expect((await waiting).context).toMatchObject({ count: 1 });
  });

  it('a pending delayed event reactivates its instance when it falls due', async () => {
    const log = await idleRegistry(10_000);
    await r.spawnSingleton('approval', 'po'); // expires after a day
    r.clock.increment(30_000);
    await settle();
    expect(log).toEqual(['passivated:po']);
    r.clock.increment(86_400_000 - 30_000 - 1);
    await settle();
    expect(log).toEqual(['passivated:po']);
    r.clock.increment(1);
    await settle();
    expect(log).toEqual(['passivated:po', 'activated:po']);
    expect(await r.getStatus('po')).toMatchObject({ status: 'done', value: 'expired' });
  });

  // The wake-up was armed once: a read that failed reported an error and left the event unfired for good.
  it('a wake-up whose store read fails once is tried again, and the delayed event fires', async () => {
    const log = await idleRegistry(10_000);
    const errors: string[] = [];
    r.on('error', (e) => errors.push(e.code));
    await r.spawnSingleton('approval', 'po'); // expires after a day
    r.clock.increment(30_000);
    await settle();
    expect(log).toEqual(['passivated:po']);
    const read = r.store.read.bind(r.store);
    let failures = 1;
    r.store.read = (id) =>
      failures-- > 0 ? Promise.reject(new Error('EIO: i/o error, read')) : read(id);
    r.clock.increment(86_400_000 - 30_000);
    await settle();
    expect(errors).toEqual(['PERSIST_FAILED']);
    expect(log).toEqual(['passivated:po']);
    // Tried again after a backoff on the registry's clock, not at the next unrelated call.
    r.clock.increment(1_000);
    await settle();
    expect(log).toEqual(['passivated:po', 'activated:po']);
    expect(await r.getStatus('po')).toMatchObject({ status: 'done', value: 'expired' });
  });

  // Callers got the store's bare Error (no code) from the activation's read.
  it('a store read that fails while activating reaches callers as PERSIST_FAILED, and the instance stays', async () => {
    await idleRegistry();
    await r.spawnSingleton('counter', 'c');
    r.clock.increment(120_000);
    await settle();
    expect(r.get('c')).toBeUndefined();
    const read = r.store.read.bind(r.store);
    let failures = 1;
    r.store.read = (id) =>
      failures-- > 0 ? Promise.reject(new Error('EIO: i/o error, read')) : read(id);
    await expect(r.send('c', { type: 'INC' })).rejects.toMatchObject({
      code: 'PERSIST_FAILED',
      details: { id: 'c' },
    });
    await r.send('c', { type: 'INC' });
    expect(r.get('c')?.getSnapshot().context.count).toBe(1);
  });

  it('an actor with someone waiting on it is not passivated', async () => {
    const log = await idleRegistry();
    await r.spawnSingleton('counter', 'c');
    const done = r.waitFor('c', 'done');
    r.clock.increment(300_000);
    await settle();
    expect(log).toEqual([]);
    await r.send('c', { type: 'FINISH' });
    expect((await done).status).toBe('done');
  });

  it('stop and purge work on passivated instances', async () => {
    await idleRegistry();
    await r.spawnSingleton('counter', 'a');
    await r.spawnSingleton('counter', 'b');
    r.clock.increment(120_000);
    await settle();
    expect(await r.stop('a', 'bye')).toMatchObject({ status: 'stopped', stopReason: 'bye' });
    await r.purge('b', { force: true });
    expect(await r.getStatus('b')).toBeUndefined();
    expect(r.store.peek('b')).toBeUndefined();
  });

  it('a restart with passivation on hosts only what is due; the rest activates on demand', async () => {
    await idleRegistry();
    await r.spawnSingleton('approval', 'waiting-a-day');
    await r.spawnSingleton('reminder', 'due-soon'); // after 1000
    await r.spawnSingleton('counter', 'no-timers');
    await r.close();
    r.clock.increment(5000); // 'due-soon' falls due while down
    r = await createTestRegistry({
      machines: all,
      clock: r.clock,
      store: r.store,
      idleTimeoutMs: 60_000,
    });
    const activated: string[] = [];
    r.on('activated', ({ id }) => activated.push(id));
    expect(r.get('due-soon')?.getSnapshot().value).toBe('reminded');
    expect(r.get('waiting-a-day')).toBeUndefined();
    expect(r.get('no-timers')).toBeUndefined();
    expect(await r.getStatus('waiting-a-day')).toMatchObject({
      status: 'running',
      value: 'pending',
    });
    await r.send('no-timers', { type: 'INC' });
    expect(activated).toEqual(['no-timers']);
    r.clock.increment(86_400_000);
    await settle();
    expect(activated).toEqual(['no-timers', 'waiting-a-day']);
    expect(await r.getStatus('waiting-a-day')).toMatchObject({ status: 'done', value: 'expired' });
  });

  it('rejects a bad idleTimeoutMs', () => {
    expect(() => createRegistry({ machines, idleTimeoutMs: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('if the store fails while passivating, the state stays in memory and nothing is lost', async () => {
    let failing = false;
    class FlakyStore extends MemoryStore {
      override async write(id: string, text: string) {
        if (failing) throw Object.assign(new Error('EIO'), { code: 'EIO' });
        return super.write(id, text);
      }
    }
    r = await createTestRegistry({ machines: all, idleTimeoutMs: 1000, store: new FlakyStore() });
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    const a = await r.spawnSingleton('counter', 'c');
    await r.flush();
    failing = true;
    a.send({ type: 'INC' });
    r.clock.increment(5000);
    await settle();
    await settle();
    expect(errors.map((e) => e.code)).toContain('PERSIST_FAILED');
    await r.send('c', { type: 'INC' });
    expect(r.get('c')?.getSnapshot().context.count).toBe(2);
    failing = false;
    await r.flush();
    expect(JSON.parse(r.store.peek('c') ?? '{}').snapshot.context.count).toBe(2);
  });
});

describe('passivation under random interleavings', () => {
  it('activates exactly once per passivation, loses no event, never re-runs entry actions', async () => {
    const fc = (await import('fast-check')).default;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), id: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('ensure' as const), id: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('status' as const), id: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2500 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(op, { minLength: 5, maxLength: 40 }),
        async (s, ops) => {
          entries.clear();
          const registry = await createTestRegistry({
            machines: all,
            idleTimeoutMs: 1000,
            store: new ScheduledStore(s),
          });
          const cycles = new Map<string, { passivated: number; activated: number }>();
          const bump = (id: string, k: 'passivated' | 'activated') => {
            const c = cycles.get(id) ?? { passivated: 0, activated: 0 };
            c[k]++;
            cycles.set(id, c);
            // An activation always follows a passivation of its own.
            expect(c.activated).toBeLessThanOrEqual(c.passivated);
          };
          registry.on('passivated', ({ id }) => bump(id, 'passivated'));
          registry.on('activated', ({ id }) => bump(id, 'activated'));
          for (let i = 0; i < 3; i++) await registry.spawnSingleton('counter', `c${i}`);
          const acked = [0, 0, 0];
          const calls = ops.map((o, n) =>
            s.schedule(Promise.resolve(), `${o.kind} #${n}`).then(async () => {
              if (o.kind === 'tick') return registry.clock.increment(o.ms);
              const id = `c${o.id}`;
              if (o.kind === 'send') {
                await registry.send(id, { type: 'INC' });
                acked[o.id] = (acked[o.id] ?? 0) + 1;
              }
              if (o.kind === 'ensure')
                expect((await registry.ensureSingleton('counter', id)).created).toBe(false);
              if (o.kind === 'status')
                expect((await registry.getStatus(id))?.status).toBe('running');
            }),
          );
          const done = Promise.all(calls);
          await s.waitFor(done);
          await done;
          const flushed = registry.flush();
          await s.waitFor(flushed);
          for (let i = 0; i < 3; i++) {
            const status = registry.getStatus(`c${i}`);
            await s.waitFor(status);
            expect(await status).toMatchObject({ context: { count: acked[i] } });
            expect(entries.get(`c${i}`)).toBe(1);
          }
          const closing = registry.close();
          await s.waitFor(closing);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('passivation and in-flight work', () => {
  /** A machine that invokes work (promise, callback or observable) whose answer the test controls. */
  function worker(kind: 'promise' | 'callback' | 'observable') {
    const answers: Array<(value: string) => void> = [];
    const actors = {
      promise: fromPromise<string>(() => new Promise<string>((resolve) => answers.push(resolve))),
      callback: fromCallback(({ sendBack }) => {
        answers.push((value) => sendBack({ type: 'xstate.done.actor.work', output: value }));
      }),
      observable: fromObservable<string, unknown>(() => ({
        subscribe: (observer: any) => {
          answers.push((value) => (observer as { next?: (v: string) => void }).next?.(value));
          return { unsubscribe() {} };
        },
      })),
    };
    const machine = setup({
      types: { context: {} as { answer: string | null } },
      actors: { work: actors[kind] as AnyActorLogic },
    }).createMachine({
      id: `waits-on-${kind}`,
      context: { answer: null },
      initial: 'working',
      states: {
        working: {
          invoke: {
            id: 'work',
            src: 'work',
            onDone: {
              target: 'answered',
              actions: assign({ answer: ({ event }) => event.output }),
            },
            onSnapshot: {
              target: 'answered',
              guard: ({ event }) => (event.snapshot as { context?: unknown }).context !== undefined,
              actions: assign({
                answer: ({ event }) => (event.snapshot as { context: string }).context,
              }),
            },
          },
          on: {
            'xstate.done.actor.work': {
              target: 'answered',
              actions: assign({
                answer: ({ event }) => (event as { output?: string }).output ?? null,
              }),
            },
          },
        },
        answered: {},
      },
    });
    return { machine, answers };
  }

  for (const kind of ['promise', 'callback', 'observable'] as const) {
    it(`an actor waiting on an invoked ${kind} is not passivated, and its answer lands`, async () => {
      const { machine, answers } = worker(kind);
      r = (await createTestRegistry({
        machines: { ...all, waiter: machine },
        idleTimeoutMs: 1000,
      })) as never;
      const log: string[] = [];
      r.on('passivated', ({ id }) => log.push(`passivated:${id}`));
      await r.spawnSingleton('waiter' as never, 'w');
      for (let i = 0; i < 10; i++) {
        r.clock.increment(5000);
        await settle();
      }
      expect(log).toEqual([]);
      expect(answers).toHaveLength(1);
      answers[0]?.('forty-two');
      await settle();
      expect(await r.getStatus('w')).toMatchObject({
        value: 'answered',
        context: { answer: 'forty-two' },
      });
      // Once the work has answered, the actor is idle like any other and is passivated.
      r.clock.increment(5000);
      await settle();
      await settle();
      expect(log).toEqual(['passivated:w']);
      const again = await r.restart();
      r = again;
      expect(await r.getStatus('w')).toMatchObject({ context: { answer: 'forty-two' } });
    });
  }

  it('a restart with passivation on hosts an actor whose invoked work was in flight, so the work runs again and answers', async () => {
    const { machine, answers } = worker('promise');
    r = (await createTestRegistry({
      machines: { ...all, waiter: machine },
      idleTimeoutMs: 1000,
    })) as never;
    await r.spawnSingleton('waiter' as never, 'w');
    expect(answers).toHaveLength(1);
    r = await r.restart();
    // Nothing is due, but the promise exists only while the actor does: XState starts it again.
    expect(r.get('w')).toBeDefined();
    expect(answers).toHaveLength(2);
    answers[1]?.('again');
    await settle();
    expect(await r.getStatus('w')).toMatchObject({
      value: 'answered',
      context: { answer: 'again' },
    });
  });

  it('a finished invoked child (its promise settled) does not keep its parent live', async () => {
    const { machine, answers } = worker('promise');
    r = (await createTestRegistry({
      machines: { ...all, waiter: machine },
      idleTimeoutMs: 1000,
    })) as never;
    await r.spawnSingleton('waiter' as never, 'w');
    answers[0]?.('done');
    await settle();
    r.clock.increment(5000);
    await settle();
    await settle();
    expect(r.get('w')).toBeUndefined();
  });
});

// The sweep fired every idleTimeoutMs / 2 whether or not anything was live: a
// test clock moved a day ahead fired it 172,800 times at idleTimeoutMs 1000,
// and clock.set(8.64e15) never returned (found by an attack on the lifecycle).
describe('the idle sweep runs only while something is live', () => {
  class CountingClock extends TestClock {
    armed = 0;
    override setTimeout(fn: (...args: any[]) => void, timeout: number): number {
      this.armed++;
      return super.setTimeout(fn, timeout);
    }
  }

  it('sleeps while nothing is live, and passivates what is spawned or woken after a long quiet spell', async () => {
    const clock = new CountingClock();
    const log: string[] = [];
    r = await createTestRegistry({ machines: all, idleTimeoutMs: 1_000, clock });
    r.on('passivated', ({ id }) => log.push(`passivated:${id}`));
    r.on('activated', ({ id }) => log.push(`activated:${id}`));
    await r.spawnSingleton('counter', 'c');
    clock.increment(2_000);
    await settle();
    expect(log).toEqual(['passivated:c']);
    // Nothing live: a day, then the end of time, arm (almost) nothing.
    clock.armed = 0;
    clock.increment(86_400_000);
    expect(clock.armed).toBeLessThanOrEqual(1);
    clock.set(8.64e15 - 10_000_000);
    expect(clock.armed).toBeLessThanOrEqual(1);
    // A new instance, and a woken one, are passivated once idle, as before.
    await r.spawnSingleton('counter', 'd');
    await r.send('c', { type: 'INC' });
    await settle();
    clock.increment(2_000);
    await settle();
    expect(log.slice(0, 2)).toEqual(['passivated:c', 'activated:c']);
    expect(log.slice(2).sort()).toEqual(['passivated:c', 'passivated:d']);
  });
});
