/**
 * A record whose state value names no state of its machine is set aside with
 * that reason. XState looks state names up on a plain object, so a name its
 * prototype has ('constructor', 'toString', '__proto__') or a value that is
 * no name at all (42) did not fail: the instance came back in its initial
 * state, its stored state silently replaced (found by an attack on records).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';

const machine = createMachine({
  id: 'm',
  initial: 'a',
  states: {
    a: { on: { GO: 'b' } },
    b: { initial: 'inner', states: { inner: {}, other: {} } },
    p: { type: 'parallel', states: { left: {}, right: {} } },
  },
});
const machines = { m: machine };
let r: TestRegistry<typeof machines> | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

/** Where instance 'i' is after a restart with `value` stored in place of its state value. */
async function restartWith(value: unknown) {
  const first = await createTestRegistry({ machines });
  await first.spawnSingleton('m', 'i');
  await first.close();
  const record = JSON.parse(first.store.peek('i') ?? '');
  record.snapshot.value = value;
  first.store.inject('i', JSON.stringify(record));
  r = await createTestRegistry({ machines, store: first.store, clock: first.clock });
  return {
    status: await r.getStatus('i'),
    setAside: first.store.quarantined.get('i')?.reason,
  };
}

describe('a stored state value that names no state of its machine', () => {
  it.each([
    ['a name on every object', 'constructor', /"constructor"/],
    ['another', 'toString', /"toString"/],
    ['__proto__', '__proto__', /"__proto__"/],
    ['a number', 42, /42/],
    ['null', null, /null/],
    ['a child name on the prototype', { b: 'hasOwnProperty' }, /b\."hasOwnProperty"/],
    ['a region name on the prototype', { p: { left: {}, valueOf: {} } }, /p\."valueOf"/],
  ])(
    '%s (%j): set aside as RESTORE_FAILED, not restored in the initial state',
    async (_, value, named) => {
      const { status, setAside } = await restartWith(value);
      expect(status).toBeUndefined();
      expect(setAside).toMatch(/RESTORE_FAILED/);
      expect(setAside).toMatch(named);
    },
  );

  it.each([
    ['a name', 'b', { b: 'inner' }],
    ['an atomic state as an object', { a: {} }, 'a'],
    ['a child', { b: 'other' }, { b: 'other' }],
    ['regions', { p: { left: {}, right: {} } }, { p: { left: {}, right: {} } }],
  ])('%s (%j) is restored as stored', async (_, value, restored) => {
    const { status, setAside } = await restartWith(value);
    expect(setAside).toBeUndefined();
    expect(status?.value).toEqual(restored);
  });
});
