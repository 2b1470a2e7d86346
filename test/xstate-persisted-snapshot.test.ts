import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnyActor,
  assign,
  createActor,
  createMachine,
  fromPromise,
  setup,
  spawnChild,
} from 'xstate';
import {
  directPersistence,
  persistedSnapshot,
} from '../src/xstate-internals/persisted-snapshot.js';

// persistedSnapshot builds a machine's persisted snapshot itself for most
// actors. These tests pin that it gives exactly what XState's
// getPersistedSnapshot gives: the same keys in the same order, the same values,
// and the context object itself. If an XState upgrade breaks one, fix
// src/xstate-internals/persisted-snapshot.ts before anything else.

const xstates = (actor: AnyActor) =>
  (actor as unknown as { getPersistedSnapshot(o: unknown): unknown }).getPersistedSnapshot({
    __unsafeAllowInlineActors: true,
  });

function expectSame(actor: AnyActor): void {
  const ours = persistedSnapshot(actor) as Record<string, unknown>;
  const theirs = xstates(actor) as Record<string, unknown>;
  expect(Object.keys(ours)).toEqual(Object.keys(theirs));
  // Node's comparison decides: vitest's own throws on an object whose prototype
  // is an array (XState's assign gives one for a context with a "__proto__"
  // key). Vitest's runs only to print the difference.
  if (!isDeepStrictEqual(ours, theirs)) expect(ours).toStrictEqual(theirs);
  expect(isDeepStrictEqual(ours, theirs)).toBe(true);
  expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
  // The context itself when XState keeps it (no actor in it), a copy when not.
  const context = actor.getSnapshot().context;
  expect(ours.context === context).toBe(theirs.context === context);
}

/**
 * Which path answered: XState's rest spread copies an enumerable symbol key of
 * the live snapshot, the direct build (fixed keys) does not. A marker only
 * tests can set; nothing in the registry adds keys to a snapshot.
 */
const MARK = Symbol('mark');
function answeredDirectly(actor: AnyActor): boolean {
  (actor.getSnapshot() as unknown as Record<symbol, unknown>)[MARK] = true;
  const persisted = persistedSnapshot(actor) as Record<symbol, unknown>;
  delete (actor.getSnapshot() as unknown as Record<symbol, unknown>)[MARK];
  return !(MARK in persisted);
}

const nested = createMachine({
  initial: 'a',
  context: { n: 1, list: [{ sku: 'x', qty: 2 }], deep: { deeper: { on: true } } },
  states: {
    a: {
      initial: 'b',
      states: { b: { on: { NEXT: 'c' } }, c: {}, h: { type: 'history', history: 'deep' } },
      on: { OUT: 'p' },
    },
    p: {
      type: 'parallel',
      states: {
        x: { initial: 'x1', states: { x1: { on: { X: 'x2' } }, x2: {} } },
        y: { initial: 'y1', states: { y1: {} } },
      },
      on: { BACK: 'a.h', END: 'f' },
    },
    f: { type: 'final' },
  },
  output: ({ context }) => ({ total: context.n }),
});

describe('persistedSnapshot', () => {
  it('builds machine snapshots itself under this XState version', () => {
    expect(directPersistence).toBe(true);
  });

  it('gives what getPersistedSnapshot gives, through states, history, parallel regions and output', () => {
    const actor = createActor(nested).start();
    const steps = [undefined, 'NEXT', 'OUT', 'X', 'BACK', 'OUT', 'END'];
    for (const step of steps) {
      if (step) actor.send({ type: step });
      expectSame(actor);
      // And of the same state restored.
      expectSame(createActor(nested, { snapshot: xstates(actor) as never }).start());
    }
    expect(actor.getSnapshot().status).toBe('done');
    expect((persistedSnapshot(actor) as { output: unknown }).output).toEqual({ total: 1 });
  });

  it('answers directly for an actor without children or actors in its context', () => {
    const actor = createActor(nested).start();
    actor.send({ type: 'NEXT' });
    actor.send({ type: 'OUT' });
    expect(answeredDirectly(actor)).toBe(true);
    const snapshot = persistedSnapshot(actor) as { value: unknown; historyValue: object };
    expect(snapshot.value).toEqual({ p: { x: 'x1', y: 'y1' } });
    expect(Object.keys(snapshot.historyValue)).not.toHaveLength(0);
  });

  it('leaves to them a getPersistedSnapshot set on the machine or the actor (say, one that redacts)', () => {
    const redacted = { redacted: true };
    const machine = createMachine({ context: { secret: 's' } });
    const xstateMethod = machine.getPersistedSnapshot;
    machine.getPersistedSnapshot = (snapshot, options) =>
      ({ ...(xstateMethod(snapshot, options) as object), context: redacted }) as never;
    const onMachine = createActor(machine).start();
    expect((persistedSnapshot(onMachine) as { context: unknown }).context).toBe(redacted);
    expect(answeredDirectly(onMachine)).toBe(false);

    const plain = createMachine({ context: { secret: 's' } });
    const onActor = createActor(plain).start();
    (onActor as unknown as { getPersistedSnapshot: () => unknown }).getPersistedSnapshot = () => ({
      context: redacted,
    });
    expect(persistedSnapshot(onActor)).toEqual({ context: redacted });
    // The same machine's other actors still answer directly.
    expect(answeredDirectly(createActor(plain).start())).toBe(true);
  });

  it('keeps an error and a machine without context as XState does', () => {
    const failing = createMachine({
      initial: 'a',
      states: {
        a: {
          on: {
            BOOM: {
              actions: () => {
                throw new Error('boom');
              },
            },
          },
        },
      },
    });
    const actor = createActor(failing);
    actor.subscribe({ error: () => {} });
    actor.start();
    expectSame(actor);
    actor.send({ type: 'BOOM' });
    expect(actor.getSnapshot().status).toBe('error');
    expectSame(actor);
    expect((persistedSnapshot(actor) as { error: Error }).error.message).toBe('boom');
  });

  it('leaves actors with children, and contexts holding actors, to XState', () => {
    const child = fromPromise(() => new Promise<void>(() => {}));
    const parent = setup({ actors: { child } }).createMachine({
      context: ({ spawn }) => ({ ref: spawn('child', { id: 'kid' }) as unknown, n: 1 }),
      entry: spawnChild('child', { id: 'other' }),
    });
    const actor = createActor(parent).start();
    const snapshot = persistedSnapshot(actor) as {
      children: Record<string, unknown>;
      context: { ref: unknown };
    };
    expect(Object.keys(snapshot.children).sort()).toEqual(['kid', 'other']);
    expect(snapshot.context.ref).toEqual({ xstate$$type: 1, id: 'kid' });
    expectSame(actor);

    // An actor in the context, and no children: still XState's replacement.
    const holder = createMachine({ context: { inner: { ref: actor } } });
    const held = createActor(holder).start();
    expect(
      (persistedSnapshot(held) as { context: { inner: { ref: unknown } } }).context.inner.ref,
    ).toEqual({ xstate$$type: 1, id: actor.id });
    expectSame(held);
    actor.stop();
  });

  /** A plain object holding `fields` as its own keys ("__proto__" too). */
  function ownKeys(fields: Record<string, unknown>): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields))
      Object.defineProperty(object, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return object;
  }

  it('gives what getPersistedSnapshot gives for any context', () => {
    fc.assert(
      fc.property(fc.object({ withNullPrototype: true }), fc.anything(), (context, extra) => {
        const machine = createMachine({
          context: { ...context, extra } as Record<string, unknown>,
          on: { SET: { actions: assign({ extra: () => ({ after: extra }) }) } },
        });
        const actor = createActor(machine).start();
        expectSame(actor);
        actor.send({ type: 'SET' });
        expectSame(actor);
        actor.stop();
      }),
      {
        numRuns: 300,
        // What stop 29's CI drew (seed 1390739709): a "__proto__" key that
        // XState's assign turns into the context's prototype.
        examples: [[ownKeys({ length: Object.create(null), ['__proto__']: [] }), []]],
      },
    );
  });

  it('refuses a cyclic context with the RangeError XState gives', () => {
    const context: Record<string, unknown> = { n: 1 };
    context.self = context;
    const actor = createActor(createMachine({ context })).start();
    expect(() => xstates(actor)).toThrow(RangeError);
    expect(() => persistedSnapshot(actor)).toThrow(RangeError);
  });
});
