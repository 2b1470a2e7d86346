import { afterEach, describe, expect, it } from 'vitest';
import { assign, fromPromise, setup, spawnChild } from 'xstate';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';

let r: TestRegistry<any> | undefined;
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
});
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A root whose in-flight promise sits two machines deep: root → middle (spawned) → leaf (invoked) → promise. */
function deep() {
  const answers: Array<(v: string) => void> = [];
  const leaf = setup({
    actors: { work: fromPromise<string>(() => new Promise((res) => answers.push(res))) },
  }).createMachine({
    id: 'leaf',
    initial: 'working',
    states: {
      working: { invoke: { src: 'work', onDone: { target: 'done' } } },
      done: { type: 'final' },
    },
  });
  const middle = setup({ actors: { leaf } }).createMachine({
    id: 'middle',
    initial: 'waiting',
    states: {
      waiting: { invoke: { src: 'leaf', onDone: { target: 'done' } } },
      done: { type: 'final' },
    },
  });
  const root = setup({
    types: { context: {} as { finished: boolean } },
    actors: { middle },
  }).createMachine({
    id: 'root',
    context: { finished: false },
    entry: spawnChild('middle', { id: 'm' }),
    on: {
      'xstate.done.actor.m': { actions: assign({ finished: true }) },
    },
  });
  return { root, answers };
}

describe('in-flight work deep in the tree', () => {
  it('a promise two machines deep (spawned, then invoked) keeps the root live; its answer lands', async () => {
    const { root, answers } = deep();
    r = await createTestRegistry({ machines: { root: root as never }, idleTimeoutMs: 1000 });
    const log: string[] = [];
    r.on('passivated', ({ id }) => log.push(id));
    await r.spawnSingleton('root', 'x');
    for (let i = 0; i < 5; i++) {
      r.clock.increment(5000);
      await settle();
    }
    expect(log).toEqual([]);
    answers[0]?.('ok');
    await settle();
    expect((await r.getStatus('x'))?.context).toEqual({ finished: true });
  });

  it('after a restart with passivation on, the deep promise runs again', async () => {
    const { root, answers } = deep();
    r = await createTestRegistry({ machines: { root: root as never }, idleTimeoutMs: 1000 });
    await r.spawnSingleton('root', 'x');
    r = await r.restart();
    expect(answers).toHaveLength(2);
    answers[1]?.('ok');
    await settle();
    expect((await r.getStatus('x'))?.context).toEqual({ finished: true });
  });
});
