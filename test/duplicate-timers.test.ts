/**
 * XState keeps one record per delayed-event ID (`sessionId.id`), but scheduling
 * an ID that is still pending, without cancelling it first, leaves the older
 * timeout running untracked: it still fires, and when it does it deletes the
 * record of the newer one, which then fires too but can no longer be cancelled.
 * Two ways to get there: a delayed `raise`/`sendTo` with an explicit `id` sent
 * twice, and a state entered again without being exited (a transition from a
 * state to a history state that resolves back to it: XState computes the
 * transition domain from the resolved target, exits nothing, and re-runs the
 * entry, so every `after` is scheduled again). A restart must keep all of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AnyActorRef,
  type AnyEventObject,
  type AnyStateMachine,
  assign,
  cancel,
  createActor,
  createMachine,
  raise,
  sendParent,
  sendTo,
  setup,
} from 'xstate';
import { createTestRegistry, TestClock, type TestRegistry } from '../src/testing/index.js';

const START = Date.UTC(2026, 0, 1);
const counting = setup({ types: { context: {} as { ticks: number } } });
// Plain assign, not setup's `.assign` helper, which xstate before 5.20 lacks (CI runs the lowest peer too).
// Typed exactly as `counting`'s machines take it: with `any` arguments, whether
// TypeScript 7 accepted it depended on which of its parallel checkers met the
// file first, so adding an unrelated source file could fail the type check.
const tick = assign<{ ticks: number }, AnyEventObject, undefined, AnyEventObject, never>({
  ticks: ({ context }) => context.ticks + 1,
});

/** `a` re-enters itself through the history state every 100 ms without being exited. */
const reentered = counting.createMachine({
  id: 'm',
  context: { ticks: 0 },
  initial: 'p',
  states: {
    p: {
      initial: 'a',
      states: {
        a: { after: { 100: '#m.p.h', 250: { actions: tick } } },
        b: {},
        h: { type: 'history', history: 'deep' },
      },
    },
  },
});

/** PING schedules TICK under the one ID `tick`; STOP cancels it. */
const raiser = counting.createMachine({
  context: { ticks: 0 },
  on: {
    PING: { actions: raise({ type: 'TICK' }, { delay: 1000, id: 'tick' }) },
    STOP: { actions: cancel('tick') },
    TICK: { actions: tick },
  },
});

/** The same with a delayed sendTo a child, which answers TOCK. */
const echo = createMachine({ on: { TICK: { actions: sendParent({ type: 'TOCK' }) } } });
const sender = setup({
  types: { context: {} as { ticks: number } },
  actors: { echo },
}).createMachine({
  context: { ticks: 0 },
  invoke: { id: 'kid', src: 'echo' },
  on: {
    PING: { actions: sendTo('kid', { type: 'TICK' }, { delay: 1000, id: 'tick' }) },
    STOP: { actions: cancel('tick') },
    TOCK: { actions: assign({ ticks: ({ context }) => context.ticks + 1 }) },
  },
});
/** Leaving `a` after 100 ms cancels the X it raised for 200 ms. */
const leaver = counting.createMachine({
  context: { ticks: 0 },
  initial: 'a',
  on: { X: { actions: tick } },
  states: {
    a: {
      entry: raise({ type: 'X' }, { delay: 200, id: 'x' }),
      exit: cancel('x'),
      after: { 100: 'b' },
    },
    b: {},
  },
});

const pingers = [
  ['raise', raiser],
  ['sendTo', sender],
] as const;

type Step = { send: string } | { advance: number } | 'restart' | { down: number };

describe('delayed events XState scheduled twice under one ID survive restarts', () => {
  let r: TestRegistry<any> | undefined;
  afterEach(() => r?.close());

  /** Drives bare XState and the registry alike; the registry restarts where told. Returns both tick counts after each step. */
  async function run(machine: AnyStateMachine, plan: Step[]) {
    const bareClock = new TestClock(START);
    const bare = createActor(machine, { clock: bareClock }).start();
    const clock = new TestClock(START);
    r = await createTestRegistry({ machines: { m: machine }, clock });
    await r.spawnSingleton('m', 'x');
    const seen: Array<[number, number]> = [];
    const ticks = (a: AnyActorRef | undefined) => a?.getSnapshot().context.ticks as number;
    for (const step of plan) {
      if (step === 'restart') r = await r.restart();
      else if ('down' in step) {
        // Nobody hosts the actor while the clock moves: its due events are overdue at start.
        await r.close();
        clock.increment(step.down);
        bareClock.increment(step.down);
        r = await createTestRegistry({ machines: { m: machine }, clock, store: r.store });
      } else if ('send' in step) {
        bare.send({ type: step.send });
        r.get('x')?.send({ type: step.send });
      } else {
        bareClock.increment(step.advance);
        clock.increment(step.advance);
      }
      seen.push([ticks(bare), ticks(r.get('x'))]);
    }
    bare.stop();
    return seen;
  }

  const same = (seen: Array<[number, number]>) => seen.map(([bare]) => [bare, bare]);

  it('`after` of a state re-entered through history without exit: the stale timeouts still fire', async () => {
    const seen = await run(reentered, [
      { advance: 1000 },
      'restart',
      { advance: 50 },
      'restart',
      { advance: 500 },
    ]);
    expect(seen.at(-1)?.[0]).toBe(14); // 250, 350, ..., 1550: the stale ones fire in bare XState
    expect(seen).toEqual(same(seen));
  });

  it.each(pingers)(
    'a delayed %s with an explicit ID sent twice fires twice, and the newer one cannot be cancelled once the older fired',
    async (_name, pinger) => {
      const seen = await run(pinger, [
        { send: 'PING' },
        { advance: 500 },
        { send: 'PING' },
        'restart',
        { advance: 500 }, // the first fires, and removes XState's record of the second
        'restart',
        { send: 'STOP' }, // so this cancels nothing
        { advance: 1000 },
      ]);
      expect(seen.at(-1)?.[0]).toBe(2);
      expect(seen).toEqual(same(seen));
    },
  );

  it.each(pingers)(
    '%s: both fall due while nothing hosts the actor: both are delivered at start, and a later ID is cancellable',
    async (_name, pinger) => {
      const seen = await run(pinger, [
        { send: 'PING' },
        { advance: 500 },
        { send: 'PING' },
        { down: 2000 },
        { send: 'PING' },
        'restart',
        { send: 'STOP' },
        { advance: 2000 },
      ]);
      expect(seen.at(-1)?.[0]).toBe(2);
      expect(seen).toEqual(same(seen));
    },
  );

  it('overdue events at start fire oldest first as their timeouts would: one an earlier one cancelled does not', async () => {
    const seen = await run(leaver, [{ down: 500 }, { advance: 500 }]);
    expect(seen.at(-1)?.[0]).toBe(0);
    expect(seen).toEqual(same(seen));
  });
});

// The timeout XState lost track of kept running after the registry stopped the
// actor: one more per passivation cycle, and still armed after close().
describe('a timeout XState lost track of ends with the hosted actor', () => {
  it('no timer outlives passivation or close()', async () => {
    const hourly = counting.createMachine({
      context: { ticks: 0 },
      on: {
        PING: { actions: raise({ type: 'TICK' }, { delay: 3_600_000, id: 'tick' }) },
        TICK: { actions: tick },
      },
    });
    const clock = new TestClock(START);
    const r = await createTestRegistry({ machines: { m: hourly }, clock, idleTimeoutMs: 10_000 });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    await r.spawnSingleton('m', 'x');
    await r.send('x', { type: 'PING' });
    await r.send('x', { type: 'PING' }); // the first timeout is now untracked by XState
    const live = clock.pending;
    for (let i = 0; i < 5; i++) {
      clock.increment(20_000); // passivated (the sweep)...
      await settle();
      expect(r.get('x')).toBeUndefined();
      await r.send('x', { type: 'NOTHING' }); // ...and activated again
    }
    expect(clock.pending).toBe(live);
    await r.close();
    expect(clock.pending).toBe(0);
  });

  it('nor does one outlive an instance that finished', async () => {
    const finishing = counting.createMachine({
      context: { ticks: 0 },
      initial: 'a',
      states: {
        a: {
          on: {
            PING: { actions: raise({ type: 'TICK' }, { delay: 3_600_000, id: 'tick' }) },
            FINISH: 'done',
          },
        },
        done: { type: 'final' },
      },
    });
    const clock = new TestClock(START);
    const r = await createTestRegistry({ machines: { m: finishing }, clock });
    await r.spawnSingleton('m', 'x');
    await r.send('x', { type: 'PING' });
    await r.send('x', { type: 'PING' });
    expect(clock.pending).toBe(2);
    await r.send('x', { type: 'FINISH' });
    expect(clock.pending).toBe(0);
    await r.close();
  });
});
