/**
 * `actor.getPersistedSnapshot()`, built without XState's object rest spread
 * for the actors most writes are of: a state machine with no children and no
 * actor in its context. That spread (`const { _nodes, tags, ...rest } =
 * snapshot`) is a runtime call that cost a seventh of the instructions of a
 * spawn until written; the object built here has the same keys in the same
 * order and the same values. Any other actor goes to XState's own method.
 * `test/xstate-persisted-snapshot.test.ts` pins the equality on many machines, and a
 * check at load turns the shortcut off (correct, only slower) if an XState
 * version builds snapshots differently.
 */
import { type AnyActorRef, createActor, createMachine } from 'xstate';

/** The fields of XState's machine snapshot that its persisted form keeps or rebuilds. */
interface MachineSnapshot {
  status: unknown;
  output: unknown;
  error: unknown;
  value: unknown;
  historyValue: unknown;
  context: unknown;
  children: Record<string, unknown>;
  machine: unknown;
}

interface ActorInternals {
  logic: { constructor: unknown; getPersistedSnapshot: unknown };
  _snapshot: MachineSnapshot;
  getPersistedSnapshot(options: unknown): unknown;
}

/** What marks an actor and its machine as persisting the way XState does, read off a sample at load. */
interface XStateShapes {
  /** XState's `StateMachine`: a subclass could persist otherwise. */
  machineClass: unknown;
  /** `Actor.prototype.getPersistedSnapshot`: one set on the actor itself is the user's. */
  actorMethod: unknown;
  /** The name of the copy StateMachine's constructor binds to each machine (`bound getPersistedSnapshot`). */
  boundName: string;
}

/** Each machine's `getPersistedSnapshot`, and whether it is still the one XState bound (the name is built on each read). */
const xstateBound = new WeakMap<object, boolean>();
let lastMethod: unknown;
let lastBound = false;

function persistsAsXState(actor: ActorInternals, shapes: XStateShapes): boolean {
  const method = actor.logic.getPersistedSnapshot;
  if (actor.getPersistedSnapshot !== shapes.actorMethod || typeof method !== 'function')
    return false;
  // Writes come in runs of one machine: the last answer first, then the table.
  if (method === lastMethod) return lastBound;
  let bound = xstateBound.get(method);
  if (bound === undefined) {
    bound = method.name === shapes.boundName;
    xstateBound.set(method, bound);
  }
  lastMethod = method;
  lastBound = bound;
  return bound;
}

/** XState's own path, the same in its development and production builds (see {@link persistedSnapshot}). */
function xstatePersisted(actor: AnyActorRef): unknown {
  return (actor as unknown as ActorInternals).getPersistedSnapshot({
    __unsafeAllowInlineActors: true,
  });
}

// XState's persistContext replaces each actor reference found in the context
// (at any depth) and otherwise returns the context itself. It finds one by
// these three keys; so does this, in the same order, recursing the same way.
// XState's walk visits an object once per path to it: an object reached twice
// at each of 30 levels took 2^30 steps (a flush blocked for minutes). Past
// WALK_BUDGET keys this walk starts over, visiting each object once (and no
// typed array's elements); a cycle, which overflows XState's stack, is a
// RangeError here too.
// A budget no ordinary context reaches: the second walk costs two Sets, and
// paid past 10,000 keys it made a 200,000-object context 2 to 5 times slower.
const WALK_BUDGET = 1_000_000;
let steps = 0;
const OVER_BUDGET = new Error('over budget');

function holdsActorRef(context: unknown): boolean {
  steps = WALK_BUDGET;
  try {
    return walk(context);
  } catch (err) {
    if (err !== OVER_BUDGET) throw err;
    return walkOnce(context as object, new Set(), new Set());
  }
}

function walk(part: unknown): boolean {
  for (const key in part as Record<string, unknown>) {
    if (--steps < 0) throw OVER_BUDGET;
    const value = (part as Record<string, unknown>)[key];
    if (value && typeof value === 'object') {
      if ('sessionId' in value && 'send' in value && 'ref' in value) return true;
      // for-in lists every key of a typed array before the first step.
      if (!ArrayBuffer.isView(value) && walk(value)) return true;
    }
  }
  return false;
}

function walkOnce(part: object, done: Set<object>, onPath: Set<object>): boolean {
  onPath.add(part);
  for (const key in part as Record<string, unknown>) {
    const value = (part as Record<string, unknown>)[key];
    if (value && typeof value === 'object') {
      if ('sessionId' in value && 'send' in value && 'ref' in value) return true;
      if (onPath.has(value))
        throw new RangeError('Maximum call stack size exceeded: the context holds a cycle');
      // A typed array's elements are numbers: millions of keys, never a reference.
      if (ArrayBuffer.isView(value)) continue;
      if (!done.has(value) && walkOnce(value, done, onPath)) return true;
    }
  }
  onPath.delete(part);
  done.add(part);
  return false;
}

// XState's serializeHistoryValue.
function historyOf(historyValue: unknown): Record<string, Array<{ id: unknown }>> {
  const result: Record<string, Array<{ id: unknown }>> = {};
  if (typeof historyValue !== 'object' || historyValue === null) return result;
  for (const key in historyValue) {
    const nodes = (historyValue as Record<string, unknown>)[key];
    if (Array.isArray(nodes)) result[key] = nodes.map((node: { id: unknown }) => ({ id: node.id }));
  }
  return result;
}

function hasChildren(children: Record<string, unknown>): boolean {
  for (const _ in children) return true;
  return false;
}

/** The direct build, or `undefined` when the actor is not one it covers. */
function direct(actor: ActorInternals, shapes: XStateShapes): unknown {
  const snapshot = actor._snapshot;
  if (
    !snapshot ||
    snapshot.machine !== actor.logic ||
    actor.logic.constructor !== shapes.machineClass ||
    !persistsAsXState(actor, shapes) ||
    hasChildren(snapshot.children) ||
    holdsActorRef(snapshot.context)
  )
    return undefined;
  // The key order of XState's `{ ...rest, context, children, historyValue }`.
  return {
    status: snapshot.status,
    output: snapshot.output,
    error: snapshot.error,
    value: snapshot.value,
    historyValue: historyOf(snapshot.historyValue),
    context: snapshot.context,
    children: {},
  };
}

/**
 * What marks XState's own machines and actors, or `undefined` when this XState
 * version's persisted form differs from the direct build on a sample, or the
 * sample fails (then every actor goes to XState's method).
 */
function checkedShapes(): XStateShapes | undefined {
  try {
    return sampleShapes();
  } catch {
    return undefined;
  }
}

function sampleShapes(): XStateShapes | undefined {
  const machine = createMachine({
    initial: 'a',
    context: { n: 1, list: [{ sku: 'x', qty: 2 }], nested: { deep: { on: true } } },
    states: {
      a: { initial: 'b', states: { b: {}, c: {}, h: { type: 'history' } }, on: { GO: 'd' } },
      d: { on: { BACK: 'a.h' } },
    },
  });
  const actor = createActor(machine).start();
  actor.send({ type: 'GO' });
  const shapes: XStateShapes = {
    machineClass: machine.constructor,
    actorMethod: (Object.getPrototypeOf(actor) as ActorInternals).getPersistedSnapshot,
    boundName: machine.getPersistedSnapshot.name,
  };
  const ours = direct(actor as unknown as ActorInternals, shapes);
  const theirs = xstatePersisted(actor);
  actor.stop();
  const same =
    typeof ours === 'object' &&
    ours !== null &&
    JSON.stringify(Object.keys(ours)) === JSON.stringify(Object.keys(theirs ?? {})) &&
    JSON.stringify(ours) === JSON.stringify(theirs) &&
    (ours as MachineSnapshot).context === (theirs as MachineSnapshot | undefined)?.context;
  return same ? shapes : undefined;
}

const shapes = checkedShapes();

/**
 * Whether {@link persistedSnapshot} builds machine snapshots directly under
 * this XState version (a test asserts it, so an upgrade that turns it off is seen).
 *
 * @example
 * ```ts
 * expect(directPersistence).toBe(true);
 * ```
 */
export const directPersistence = shapes !== undefined;

/**
 * `actor.getPersistedSnapshot()`, the same in XState's development and
 * production builds: the development build throws a generic error on an inline
 * (unregistered) child while the production one persists the child's logic
 * object as its `src`. The undocumented `__unsafeAllowInlineActors` option makes
 * both return the snapshot, so the caller can find the child by its `src` and
 * name it in its error.
 *
 * @example
 * ```ts
 * const snapshot = persistedSnapshot(actor); // children[id].src is a string, or the inline logic
 * ```
 */
export function persistedSnapshot(actor: AnyActorRef): unknown {
  return (
    (shapes !== undefined && direct(actor as unknown as ActorInternals, shapes)) ||
    xstatePersisted(actor)
  );
}
