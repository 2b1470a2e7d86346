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
import { type AnyActorRef, type AnyStateMachine, cancel, createActor, raise, setup } from 'xstate';
import { createTestRegistry, TestClock, type TestRegistry } from '../src/testing/index.js';

const START = Date.UTC(2026, 0, 1);
const counting = setup({ types: { context: {} as { ticks: number } } });
const tick = counting.assign({ ticks: ({ context }) => context.ticks + 1 });

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
const pinger = counting.createMachine({
  context: { ticks: 0 },
  on: {
    PING: { actions: raise({ type: 'TICK' }, { delay: 1000, id: 'tick' }) },
    STOP: { actions: cancel('tick') },
    TICK: { actions: tick },
  },
});

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

  it('a delayed raise with an explicit ID sent twice fires twice, and the newer one cannot be cancelled once the older fired', async () => {
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
  });

  it('both fall due while nothing hosts the actor: both are delivered at start, and a later ID is cancellable', async () => {
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
  });
});
