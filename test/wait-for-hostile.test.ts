/**
 * `waitFor`'s predicate and signal are the caller's code and objects. A
 * predicate runs on every change of the instance, inside XState's own
 * processing of the event: one that threw on a later change escaped into
 * XState, which left the actor's mailbox stuck (every later event dropped,
 * though the sends resolved), or, on a change made by a delayed event, crashed
 * the process. A `signal` that is not an AbortSignal failed after the waiter
 * was registered, and the waiter then broke `close()`.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { isRegistryError } from '../src/index.js';
import { createTestRegistry } from '../src/testing/index.js';

const counter = setup({ types: { context: {} as { n: number } } }).createMachine({
  id: 'counter',
  context: { n: 0 },
  initial: 'a',
  states: {
    a: {
      on: { INC: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
      after: {
        100: { target: 'a', reenter: true, actions: assign({ n: ({ context }) => context.n + 1 }) },
      },
    },
  },
});

const bug = new Error('a bug in the predicate');
/** Passes its first check, throws on the change that makes n 1. */
const throwsLater = (s: { context: { n: number } }) => {
  if (s.context.n === 1) throw bug;
  return false;
};

describe('a waitFor predicate that throws on a later change', () => {
  it.each(['send', 'timer'] as const)(
    'rejects that wait with its error; the change made by a %s, and every later one, still applies',
    async (by) => {
      const r = await createTestRegistry({ machines: { counter } });
      const errors: unknown[] = [];
      r.on('error', (e) => errors.push(e));
      try {
        await r.spawnSingleton('counter', 'c');
        const other = r.waitFor('c', (s) => s.context.n >= 4);
        const waiting = r.waitFor('c', throwsLater);
        await Promise.resolve();
        if (by === 'send') await r.send('c', { type: 'INC' });
        else r.clock.increment(100);
        await expect(waiting).rejects.toBe(bug);
        for (let i = 0; i < 3; i++) await r.send('c', { type: 'INC' });
        expect(r.get('c')?.getSnapshot().context.n).toBe(4);
        expect((await other).context.n).toBe(4);
        expect(r.stats().waiters).toBe(0);
        expect(errors).toEqual([]);
      } finally {
        await r.close();
      }
    },
  );
});

describe('a waitFor signal that is not an AbortSignal', () => {
  it.each([
    ['an empty object', {}],
    ['an object with aborted false only', { aborted: false }],
    ['a string', 'stop'],
  ])(
    'is refused with INVALID_ARGUMENT (%s), leaving no waiter, and close() works',
    async (_, signal) => {
      const r = await createTestRegistry({ machines: { counter } });
      try {
        await r.spawnSingleton('counter', 'c');
        const refused = await r
          .waitFor('c', 'done', { signal: signal as unknown as AbortSignal })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(isRegistryError(refused, 'INVALID_ARGUMENT')).toBe(true);
        expect(r.stats().waiters).toBe(0);
      } finally {
        await r.close();
      }
    },
  );
});

/** How `promise` ended once the event loop has gone round (no clock moves meanwhile), or 'pending'. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  let ended = 'pending';
  promise.then(
    () => {
      ended = 'resolved';
    },
    (err: unknown) => {
      ended = isRegistryError(err) ? err.code : String(err);
    },
  );
  for (let i = 0; i < 50 && ended === 'pending'; i++) await new Promise((r) => setImmediate(r));
  return ended;
}

// The deadline counts from the call, but the clock timer was armed only after
// the wait had awaited the registry (its start, an activation): a test clock
// moved past the deadline meanwhile left a timer of 0, which fires at the
// clock's next move, so the wait hung (found by an attack on the lifecycle).
const idle = setup({ types: { context: {} as { n: number } } }).createMachine({
  id: 'counter',
  context: { n: 0 },
  initial: 'a',
  states: { a: {} },
});

describe('a waitFor whose deadline passes before it is armed', () => {
  it.each(['the registry', 'a handle', 'a passive instance'] as const)(
    'through %s: rejects with TIMEOUT without another move of the clock',
    async (through) => {
      const r = await createTestRegistry({
        machines: { counter: through === 'a passive instance' ? idle : counter },
        ...(through === 'a passive instance' ? { idleTimeoutMs: 1_000 } : {}),
      });
      await r.spawnSingleton('counter', 'a');
      if (through === 'a passive instance') {
        const passivated: string[] = [];
        r.on('passivated', ({ id }) => passivated.push(id));
        r.clock.increment(5_000);
        await new Promise((settle) => setImmediate(settle));
        expect(passivated).toEqual(['a']);
      }
      const wait =
        through === 'a handle'
          ? r.actor('counter', 'a').waitFor((s) => s.context.n < 0, { timeoutMs: 1_000 })
          : r.waitFor('a', 'done', { timeoutMs: 1_000 });
      r.clock.increment(5_000);
      expect(await outcome(wait)).toBe('TIMEOUT');
      await r.close();
    },
  );
});

// Found by a review of the fix above: timing the wait out before its
// activation finished made timeoutMs: 0 on a passivated instance a TIMEOUT
// where the same call on a live one answers its status.
it('waitFor with timeoutMs 0 on a passivated instance that meets the condition answers its status', async () => {
  const r = await createTestRegistry({ machines: { counter: idle }, idleTimeoutMs: 1000 });
  await r.spawnSingleton('counter', 'p');
  r.clock.increment(5000);
  await new Promise((settle) => setImmediate(settle));
  expect(r.get('p')).toBeUndefined(); // passivated
  expect((await r.waitFor('p', 'running', { timeoutMs: 0 })).status).toBe('running');
  await expect(r.waitFor('p', 'done', { timeoutMs: 0 })).rejects.toMatchObject({ code: 'TIMEOUT' });
  await r.close();
});
