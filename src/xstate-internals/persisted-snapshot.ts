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
  logic: { constructor: unknown };
  _snapshot: MachineSnapshot;
  getPersistedSnapshot(options: unknown): unknown;
}

/** XState's own path, the same in its development and production builds (see {@link persistedSnapshot}). */
function xstatePersisted(actor: AnyActorRef): unknown {
  return (actor as unknown as ActorInternals).getPersistedSnapshot({
    __unsafeAllowInlineActors: true,
  });
}

// XState's persistContext replaces each actor reference found in the context
// (at any depth) and otherwise returns the context itself. It finds one by
// these three keys; so does this, in the same order, recursing the same way
// (a cycle overflows the stack here as it does there: a RangeError).
function holdsActorRef(part: unknown): boolean {
  for (const key in part as Record<string, unknown>) {
    const value = (part as Record<string, unknown>)[key];
    if (value && typeof value === 'object') {
      if ('sessionId' in value && 'send' in value && 'ref' in value) return true;
      if (holdsActorRef(value)) return true;
    }
  }
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
function direct(actor: ActorInternals, machineClass: unknown): unknown {
  const snapshot = actor._snapshot;
  if (
    !snapshot ||
    snapshot.machine !== actor.logic ||
    // XState's StateMachine itself: a subclass could persist otherwise.
    actor.logic.constructor !== machineClass ||
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
 * XState's `StateMachine` class, or `undefined` when this XState version's
 * persisted form differs from the direct build on a sample (then every actor
 * goes to XState's method).
 */
function checkedMachineClass(): unknown {
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
  const ours = direct(actor as unknown as ActorInternals, machine.constructor);
  const theirs = xstatePersisted(actor);
  actor.stop();
  const same =
    JSON.stringify(Object.keys(ours ?? {})) === JSON.stringify(Object.keys(theirs ?? {})) &&
    JSON.stringify(ours) === JSON.stringify(theirs) &&
    (ours as MachineSnapshot).context === (theirs as MachineSnapshot).context;
  return same ? machine.constructor : undefined;
}

const machineClass = checkedMachineClass();

/**
 * Whether {@link persistedSnapshot} builds machine snapshots directly under
 * this XState version (a test asserts it, so an upgrade that turns it off is seen).
 *
 * @example
 * ```ts
 * expect(directPersistence).toBe(true);
 * ```
 */
export const directPersistence = machineClass !== undefined;

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
    (machineClass !== undefined && direct(actor as unknown as ActorInternals, machineClass)) ||
    xstatePersisted(actor)
  );
}
