/**
 * Hooks on an XState actor that need its internals: every snapshot change in
 * an actor tree through `system._sendInspectionEvent` (the public `inspect`
 * option sees the same events, but makes XState copy every inspection event of
 * every transition, which cost a fifth of the time of each `send`), the source
 * of each event delivered to the root (for history), loud sends to a stopped actor, and whether
 * `start()` would run anything. `src/xstate-internals/` is the one place that
 * reaches into XState; `test/xstate-internals.test.ts` pins every shape used.
 */
import type { AnyActorRef, AnyEventObject } from 'xstate';
import { noteDelivery } from '../event-source.js';
import { type SnapshotWatcher, Watch } from '../snapshot-watch.js';
import { FIRING, type InternalSystem, systemOf } from './internal-system.js';

const WATCH = Symbol('xstate-registry.watch');

// watchedInspection, plus the source of every event relayed to the root.
function watchedInspectionWithSources(
  this: InternalSystem & { [WATCH]: Watch<unknown> },
  event: Parameters<InternalSystem['_sendInspectionEvent']>[0] & { sourceRef?: AnyActorRef },
): void {
  const watch = this[WATCH];
  const relayed = event.event;
  if (event.type === '@xstate.event' && event.actorRef === watch.root && relayed) {
    noteDelivery(relayed, this[FIRING] === relayed, event.sourceRef, watch.root);
  } else if (event.type === '@xstate.snapshot' && event.actorRef) {
    watch.watcher(watch.context, event.actorRef, event.snapshot, event.event as AnyEventObject);
  }
  watch.original(event);
}

// One function for every system, finding its watcher on the system itself: an
// actor host creates thousands of systems, and a closure each would add up.
function watchedInspection(
  this: InternalSystem & { [WATCH]: Watch<unknown> },
  event: Parameters<InternalSystem['_sendInspectionEvent']>[0],
): void {
  const watch = this[WATCH];
  if (event.type === '@xstate.snapshot' && event.actorRef) {
    watch.watcher(watch.context, event.actorRef, event.snapshot, event.event as AnyEventObject);
  }
  watch.original(event);
}

/**
 * Calls `watcher(context, ...)` for every snapshot update in `root`'s actor tree,
 * children included (the root's `subscribe` does not fire for child-only
 * changes), and `failed(context, error)` when the root fails, as an error
 * observer of the root would (so XState does not report the error as
 * unhandled). Install before `start()`. XState's own inspection observers still
 * receive everything. With `trackSources`, {@link eventSource} tells where each
 * event delivered to the root came from.
 *
 * @example
 * ```ts
 * watchSnapshots(actor, (instance, ref, snapshot) => save(instance), instance, (instance, err) => fail(instance, err));
 * actor.start();
 * ```
 */
export function watchSnapshots<C>(
  root: AnyActorRef,
  watcher: SnapshotWatcher<C>,
  context: C,
  failed?: (context: C, error: unknown) => void,
  trackSources = false,
): void {
  const system = systemOf(root) as InternalSystem & { [WATCH]?: Watch<C> };
  const watch = new Watch(watcher, context, system._sendInspectionEvent, root, failed);
  system[WATCH] = watch;
  // Only a journaling registry pays for tracking sources.
  system._sendInspectionEvent = trackSources ? watchedInspectionWithSources : watchedInspection;
  // The observer `subscribe({ error })` would add, without the observer literal,
  // the closure, toObserver's copy and the subscription object (~190 B per idle actor).
  if (failed) (root as unknown as { observers: Set<unknown> }).observers.add(watch);
}

/**
 * Makes `send` on a stopped actor call `report(event)` instead of dropping the
 * event with only XState's development warning. Only the public `send` is
 * replaced: XState delivers between actors through the system, never through it.
 *
 * @example
 * ```ts
 * actor.stop();
 * reportSendsAfterStop(actor, (event) => console.error('dead actor got', event));
 * actor.send({ type: 'PING' }); // reported, not silently dropped
 * ```
 */
export function reportSendsAfterStop(
  actor: AnyActorRef,
  report: (event: AnyEventObject) => void,
): void {
  (actor as { send: (event: AnyEventObject) => void }).send = report;
}

/**
 * Whether starting `actor` (created, not yet started) would run nothing: XState
 * computes the initial state in `createActor()` and queues every effect of it
 * (entry actions, delayed events, children to start) in the actor's `_deferred`
 * list, run by `start()`. When that list is empty, the state before `start()` is
 * the state after it, so it may be stored before the actor starts. An unknown
 * shape answers `false`, the safe answer.
 *
 * @example
 * ```ts
 * const actor = createActor(machine, { input });
 * if (startRunsNothing(actor)) storeFirstRecord(actor.getPersistedSnapshot());
 * actor.start();
 * ```
 */
export function startRunsNothing(actor: AnyActorRef): boolean {
  const deferred = (actor as unknown as { _deferred?: unknown })._deferred;
  return Array.isArray(deferred) && deferred.length === 0;
}
