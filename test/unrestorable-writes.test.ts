/**
 * States that ran, were written, and were then refused at the next start: the
 * instance was set aside (CORRUPT_RECORD) and left service. A delayed event
 * whose type or id is not a string, an Error whose name is not a string, and
 * a machine type named '' (found by an attack). Each is now refused when it
 * would be written (NOT_SERIALIZABLE, naming it) or configured
 * (INVALID_ARGUMENT); the last good record stays and loads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { assign, createMachine, raise, setup, spawnChild } from 'xstate';
import { createRegistry, MemoryStore } from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';

let r: TestRegistry<Record<string, never>> | undefined;
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
});

/** As after a process restart, over the same store; the close reports what it could not write. */
async function restarted<M extends Parameters<typeof createTestRegistry>[0]['machines']>(
  registry: TestRegistry<M>,
  machines: M,
): Promise<TestRegistry<M>> {
  await expect(registry.close()).rejects.toMatchObject({ code: 'NOT_SERIALIZABLE' });
  return createTestRegistry({ machines, store: registry.store, clock: registry.clock });
}

const scheduling = (action: ReturnType<typeof raise>) =>
  createMachine({
    initial: 'idle',
    states: {
      idle: { on: { GO: 'waiting' } },
      waiting: { entry: action, on: { LATER: 'idle' } },
    },
  });

describe('a state that could be written but not loaded', () => {
  const child = createMachine({ initial: 'a', states: { a: { after: { 60000: 'b' } }, b: {} } });
  const spawningChild = setup({ actors: { child } }).createMachine({
    initial: 'idle',
    states: {
      idle: { on: { GO: 'spawned' } },
      spawned: { entry: spawnChild('child', { id: 7 as never }) },
    },
  });

  it.each([
    [
      'an event type that is not a string',
      scheduling(raise(() => ({ type: 42 }) as never, { delay: 60_000 })),
    ],
    [
      'an event without a type',
      scheduling(raise(() => ({ payload: 1 }) as never, { delay: 60_000 })),
    ],
    [
      'an id that is not a string',
      scheduling(raise({ type: 'LATER' }, { delay: 60_000, id: 7 as never })),
    ],
    // The write once checked only the event and the timer id (review).
    ['a source: a child spawned with an id that is not a string', spawningChild],
  ])('a delayed event with %s is refused at the write; the last good state loads', async (_, m) => {
    const machines = { m: m as ReturnType<typeof createMachine> };
    const registry = await createTestRegistry({ machines });
    r = registry as never;
    await registry.spawnSingleton('m', 'x');
    await registry.flush();
    await registry.send('x', { type: 'GO' });
    await expect(registry.flush()).rejects.toMatchObject({
      code: 'NOT_SERIALIZABLE',
      details: { id: 'x', path: 'timers[0]' },
    });
    const again = await restarted(registry, machines);
    r = again as never;
    expect(await again.getStatus('x')).toMatchObject({ status: 'running', value: 'idle' });
  });

  it('an Error whose name is not a string is refused at the write', async () => {
    const keeper = setup({}).createMachine({
      context: { e: null as unknown },
      on: {
        SET: {
          actions: assign({ e: () => Object.assign(new Error('x'), { name: 42 }) }),
        },
      },
    });
    const registry = await createTestRegistry({ machines: { keeper } });
    const machines = { keeper };
    r = registry as never;
    await registry.spawnSingleton('keeper', 'k');
    await registry.flush();
    await registry.send('k', { type: 'SET' });
    await expect(registry.flush()).rejects.toMatchObject({ code: 'NOT_SERIALIZABLE' });
    const again = await restarted(registry, machines);
    r = again as never;
    expect((await again.getStatus('k'))?.context).toEqual({ e: null });
  });

  it("a machine type named '' is refused by createRegistry", () => {
    expect(() =>
      createRegistry({ machines: { '': createMachine({}) }, store: new MemoryStore() }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { type: '' } }));
  });
});
