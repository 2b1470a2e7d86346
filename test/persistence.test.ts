import { afterEach, describe, expect, it } from 'vitest';
import { assign, createMachine, setup, spawnChild } from 'xstate';
import type { RegistryError } from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';

let r: TestRegistry<any>;
afterEach(() => r?.close().catch(() => {}));

describe('what a restart restores', () => {
  it('history states, nested state, context and invoked and spawned children', async () => {
    const child = createMachine({
      context: { n: 0 },
      on: { BUMP: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
    });
    const player = setup({ actors: { child } }).createMachine({
      id: 'player',
      initial: 'on',
      entry: spawnChild('child', { id: 'spawned' }),
      states: {
        on: {
          invoke: { id: 'invoked', src: 'child' },
          initial: 'playing',
          states: {
            playing: { on: { PAUSE: 'paused' } },
            paused: { on: { PLAY: 'playing' } },
            hist: { type: 'history' },
          },
          on: { OFF: 'off' },
        },
        off: { on: { ON: 'on.hist' } },
      },
    });
    r = await createTestRegistry({ machines: { player } });
    const a = await r.spawnSingleton('player', 'p');
    a.send({ type: 'PAUSE' });
    a.getSnapshot().children.spawned?.send({ type: 'BUMP' });
    a.getSnapshot().children.spawned?.send({ type: 'BUMP' });
    a.send({ type: 'OFF' });
    r = await r.restart();
    const b = r.get('p');
    expect(b?.getSnapshot().value).toBe('off');
    expect(b?.getSnapshot().children.spawned?.getSnapshot().context).toEqual({ n: 2 });
    b?.send({ type: 'ON' });
    // The history state remembered 'paused' across the restart.
    expect(b?.getSnapshot().value).toEqual({ on: 'paused' });
    expect(b?.getSnapshot().children.invoked?.getSnapshot().context).toEqual({ n: 0 });
  });
});

describe('what XState cannot persist', () => {
  it('an inline spawned child: reported as NOT_SERIALIZABLE with the fix; the actor and others keep running', async () => {
    const inline = createMachine({
      entry: spawnChild(createMachine({ initial: 'a', states: { a: { on: { X: 'b' } }, b: {} } }), {
        id: 'inl',
      }),
      on: { PING: { actions: () => {} } },
    });
    const fine = createMachine({ context: { n: 1 } });
    r = await createTestRegistry({ machines: { inline, fine } });
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    await r.spawnSingleton('fine', 'ok');
    await r.spawnSingleton('inline', 'bad');
    await expect(r.flush()).rejects.toMatchObject({
      code: 'NOT_SERIALIZABLE',
      message: expect.stringMatching(/setup\(\{ actors \}\)/),
    });
    await r.send('bad', { type: 'PING' });
    expect(await r.getStatus('bad')).toMatchObject({ status: 'running' });
    expect(r.store.peek('ok')).toBeDefined();
    expect(errors.every((e) => e.code === 'NOT_SERIALIZABLE')).toBe(true);
  });
});
