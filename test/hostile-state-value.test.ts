/**
 * A record whose state value names no state of its machine is set aside with
 * that reason. XState looks state names up on a plain object, so a name its
 * prototype has ('constructor', 'toString', '__proto__') or a value that is
 * no name at all (42) did not fail: the instance came back in its initial
 * state, its stored state silently replaced (found by an attack on records).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AnyActorRef, createMachine, setup } from 'xstate';
import type { MemoryStore } from '../src/index.js';
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

// The same lookup happens for every child machine XState restores: a bad child
// value brought the child back in its initial state (or in `error`) while the
// parent's state was restored as stored.
describe("a child machine's stored state value that names no state of its machine", () => {
  const grandchild = createMachine({ initial: 'g1', states: { g1: { on: { GO: 'g2' } }, g2: {} } });
  const child = setup({ actors: { grandchild } }).createMachine({
    initial: 'c1',
    invoke: { id: 'grand', src: 'grandchild' },
    states: { c1: { on: { GO: 'c2' } }, c2: {} },
  });
  const parent = setup({ actors: { child } }).createMachine({
    initial: 'p',
    states: { p: { invoke: { id: 'kid', src: 'child' } } },
  });
  const family = { parent };
  let f: TestRegistry<typeof family> | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  /** The parent's record, with the child (or grandchild) moved to its second state. */
  async function stored() {
    const first = await createTestRegistry({ machines: family });
    const actor = await first.spawnSingleton('parent', 'x');
    const kid = actor.getSnapshot().children.kid as AnyActorRef;
    kid.send({ type: 'GO' });
    (kid.getSnapshot().children.grand as AnyActorRef).send({ type: 'GO' });
    await first.close();
    return { store: first.store, text: first.store.peek('x') ?? '' };
  }

  async function restart(store: MemoryStore, text: string) {
    store.inject('x', text);
    f = await createTestRegistry({ machines: family, store });
    return store.quarantined.get('x')?.reason;
  }

  it.each([
    ['the child', '"c2"', 'constructor', /child 'kid' in state "constructor".*machine 'child'/],
    ['the child', '"c2"', 'nope', /child 'kid' in state "nope"/],
    ['the child', '"c2"', 42, /child 'kid' in state 42/],
    [
      'the grandchild',
      '"g2"',
      'toString',
      /child 'kid\.grand' in state "toString".*machine 'grandchild'/,
    ],
  ])('%s in state %s replaced by %j: set aside as RESTORE_FAILED', async (_, was, value, named) => {
    const { store, text } = await stored();
    expect(text).toContain(`"value":${was}`);
    const reason = await restart(
      store,
      text.replace(`"value":${was}`, `"value":${JSON.stringify(value)}`),
    );
    expect(reason).toMatch(/^RESTORE_FAILED/);
    expect(reason).toMatch(named);
    expect(await f?.getStatus('x')).toBeUndefined();
  });

  it('an intact record restores the child and grandchild as stored', async () => {
    const { store, text } = await stored();
    expect(await restart(store, text)).toBeUndefined();
    const kid = (await f?.spawnSingleton('parent', 'x'))?.getSnapshot().children.kid as AnyActorRef;
    expect(kid.getSnapshot().value).toBe('c2');
    expect((kid.getSnapshot().children.grand as AnyActorRef).getSnapshot().value).toBe('g2');
  });
});
