/**
 * The one place where xstate-registry reaches into XState's internals.
 *
 * XState v5 keeps pending delayed events (`after`, delayed `raise`, delayed
 * `sendTo`) in its actor system's scheduler, and `getPersistedSnapshot()` leaves
 * them out (statelyai/xstate #5331, #4860): a restored actor waiting on `after`
 * would wait forever. There is no public API for them, so this module reads and
 * re-creates them through `actor.system.scheduler`, `system._snapshot._scheduledEvents`,
 * `system._relay` and `actorRef._parent`. It also watches every snapshot change in
 * an actor tree through `system._sendInspectionEvent`: the public `inspect` option
 * sees the same events, but makes XState copy every inspection event of every
 * transition, which cost a fifth of the time of each `send`. With history on, the
 * same hook reads each delivery's `@xstate.event` (its `sourceRef`) to tell where
 * the event behind a transition came from. `test/xstate-internals.test.ts` pins every
 * one of those shapes, so an XState upgrade that changes them fails loudly there.
 */
import type { AnyActorRef, AnyEventObject } from 'xstate';
import { resolvePath } from './actor-path.js';
import { type Clock, systemClock } from './clock.js';
import { noteDelivery } from './event-source.js';
import type { DroppedTimer, PersistedTimer } from './persisted-timer.js';
import { type SnapshotWatcher, Watch } from './snapshot-watch.js';
import {
  emptyTimeouts,
  isCancellable,
  type Timeouts as Mirror,
  type Timeout as MirrorTimeout,
  overdueFirst,
} from './timeout-mirror.js';

interface ScheduledEvent {
  source: AnyActorRef;
  target: AnyActorRef;
  event: AnyEventObject;
  delay: number;
  id: string;
  /** Wall time when XState scheduled it (XState uses Date.now(), whatever the clock). */
  startedAt: number;
  /** Set by trackTimers: the due time on the registry's clock. */
  dueAt?: number;
}

/** A timeout of XState's scheduler, as the mirror keeps it (see timeout-mirror.ts). */
type Timeout = MirrorTimeout<ScheduledEvent>;
type Timeouts = Mirror<ScheduledEvent>;

const TIMERS = Symbol('xstate-registry.timers');
const FIRING = Symbol('xstate-registry.firing');
const SYSTEM = Symbol('xstate-registry.system');
const CLOCK = Symbol('xstate-registry.clock');

interface InternalSystem {
  scheduler: {
    schedule(
      source: AnyActorRef,
      target: AnyActorRef,
      event: AnyEventObject,
      delay: number,
      id?: string,
    ): void;
    cancel(source: AnyActorRef, id: string): void;
  };
  _snapshot: { _scheduledEvents: Record<string, ScheduledEvent> };
  _clock: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  _relay(source: AnyActorRef | undefined, target: AnyActorRef, event: AnyEventObject): void;
  _sendInspectionEvent(event: {
    type: string;
    actorRef?: AnyActorRef;
    snapshot?: unknown;
    event?: AnyEventObject;
  }): void;
  /** Set by trackTimers: `null` until the first delayed event, so idle actors pay nothing. */
  [TIMERS]?: Timeouts | null;
  /** The event of the delayed event firing now, while trackTimers relays it. */
  [FIRING]?: AnyEventObject | undefined;
}

function systemOf(actor: AnyActorRef): InternalSystem {
  const system = (actor as unknown as { system?: InternalSystem }).system;
  if (
    !system ||
    typeof system.scheduler?.schedule !== 'function' ||
    typeof system._snapshot?._scheduledEvents !== 'object' ||
    typeof system._clock?.setTimeout !== 'function' ||
    typeof system._relay !== 'function' ||
    typeof system._sendInspectionEvent !== 'function'
  ) {
    throw new Error(
      'xstate-registry: this XState version does not expose the scheduler internals ' +
        'it relies on (system.scheduler, system._snapshot._scheduledEvents, system._clock, ' +
        'system._relay, system._sendInspectionEvent). ' +
        'Pin xstate to a version xstate-registry supports.',
    );
  }
  return system;
}

/**
 * Makes the actor's system keep every pending delayed event where
 * {@link readTimers} can see it, with its absolute due time on `clock`: the
 * system's scheduler is replaced by one that does exactly what XState's does
 * (same records, same clock calls, same stale timeouts), and also remembers the
 * timeouts XState itself loses track of. Call once per root actor, before
 * `start()`.
 *
 * @example
 * ```ts
 * const actor = createActor(machine, { clock });
 * trackTimers(actor, clock);
 * actor.start();
 * readTimers(actor); // [{ id: 'xstate.after.1000.m.idle', source: [], target: [], event, dueAt }]
 * ```
 */
export function trackTimers(root: AnyActorRef, clock: Clock = systemClock): void {
  const system = systemOf(root);
  if (system[TIMERS] !== undefined) return;
  system[TIMERS] = null;
  const scheduler = system.scheduler as TrackedScheduler;
  scheduler[SYSTEM] = system;
  scheduler[CLOCK] = clock;
  scheduler.schedule = trackedSchedule;
  scheduler.cancel = trackedCancel;
}

/** XState's scheduler object, with what {@link trackedSchedule} and {@link trackedCancel} need. */
type TrackedScheduler = InternalSystem['scheduler'] & { [SYSTEM]: InternalSystem; [CLOCK]: Clock };

// Shared by every tracked system, reading their system and clock from the
// scheduler they are called on (XState always calls `scheduler.schedule(...)`
// and `scheduler.cancel(...)` as methods, cancelAll included): two closures
// and their context per actor cost more than two properties (~100 B per idle actor).
// They mirror createSystem's scheduler in xstate/src/system.ts line by line;
// test/duplicate-timers.test.ts compares them with XState's own.
function trackedSchedule(
  this: TrackedScheduler,
  source: AnyActorRef,
  target: AnyActorRef,
  event: AnyEventObject,
  delay: number,
  id: string = Math.random().toString(36).slice(2),
): void {
  const system = this[SYSTEM];
  const key = `${source.sessionId}.${id}`;
  const entry: ScheduledEvent = {
    source,
    target,
    event,
    delay,
    id,
    startedAt: Date.now(),
    dueAt: this[CLOCK].now() + delay,
  };
  system._snapshot._scheduledEvents[key] = entry;
  const timeout: Timeout = {
    key,
    entry,
    handle: undefined,
    fire: () => {
      const timeouts = timeoutsOf(system);
      timeouts.live.delete(timeout);
      // Whichever timeout of the key fires, XState forgets the key's record.
      timeouts.byKey.delete(key);
      delete system._snapshot._scheduledEvents[key];
      // Tells watchSnapshots' source tracking which relay is this timer's.
      system[FIRING] = event;
      try {
        system._relay(source, target, event);
      } finally {
        system[FIRING] = undefined;
      }
    },
  };
  timeout.handle = system._clock.setTimeout(timeout.fire, delay);
  const timeouts = timeoutsOf(system);
  timeouts.byKey.set(key, timeout);
  timeouts.live.add(timeout);
}

function trackedCancel(this: TrackedScheduler, source: AnyActorRef, id: string): void {
  const system = this[SYSTEM];
  const key = `${source.sessionId}.${id}`;
  const timeouts = system[TIMERS];
  const timeout = timeouts?.byKey.get(key);
  timeouts?.byKey.delete(key);
  delete system._snapshot._scheduledEvents[key];
  if (timeouts && timeout) {
    system._clock.clearTimeout(timeout.handle);
    timeouts.live.delete(timeout);
  }
}

/** The timeouts trackTimers keeps for `system`, created with its first delayed event. */
function timeoutsOf(system: InternalSystem): Timeouts {
  let timeouts = system[TIMERS];
  if (!timeouts) {
    timeouts = emptyTimeouts();
    system[TIMERS] = timeouts;
  }
  return timeouts;
}

function pathOf(root: AnyActorRef, actor: AnyActorRef): string[] | undefined {
  const path: string[] = [];
  let current: AnyActorRef | undefined = actor;
  while (current && current !== root) {
    path.unshift(current.id);
    current = (current as unknown as { _parent?: AnyActorRef })._parent;
  }
  return current === root ? path : undefined;
}

/**
 * The pending delayed events of `root`'s actor tree, with due times, in the
 * order they were scheduled. Events whose source or target lies outside the
 * tree cannot be addressed after a restart and are left out.
 *
 * @example
 * ```ts
 * const timers = readTimers(actor); // persist them with the snapshot
 * ```
 */
export function readTimers(root: AnyActorRef): PersistedTimer[] {
  const out: PersistedTimer[] = [];
  const system = systemOf(root);
  const timeouts = system[TIMERS];
  // Without trackTimers only XState's own records are there to read.
  const pending: Iterable<{ entry: ScheduledEvent; uncancellable: boolean }> = timeouts
    ? [...timeouts.live].map((t) => ({
        entry: t.entry,
        uncancellable: !isCancellable(timeouts, t),
      }))
    : Object.values(system._snapshot._scheduledEvents).map((entry) => ({
        entry,
        uncancellable: false,
      }));
  for (const { entry, uncancellable } of pending) {
    const dueAt = entry.dueAt ?? entry.startedAt + entry.delay;
    if (!Number.isFinite(dueAt)) continue;
    const source = pathOf(root, entry.source);
    const target = pathOf(root, entry.target);
    if (!source || !target) continue;
    // An actor XState left running after it was replaced under the same ID (an
    // orphan, no longer in its parent's children) is not part of the state: its
    // events, re-addressed by path, would reach the live actor with that ID.
    if (resolvePath(root, source) !== entry.source || resolvePath(root, target) !== entry.target)
      continue;
    const timer: PersistedTimer = { id: entry.id, source, target, event: entry.event, dueAt };
    if (uncancellable) timer.uncancellable = true;
    out.push(timer);
  }
  return out;
}

/**
 * Re-creates persisted delayed events on a started, restored root actor, as
 * XState had them: scheduled again in their original order (so the same ones
 * are cancellable), those not yet due for their original due time; then those
 * that fell due while nothing hosted the actor fire now, oldest first, each as
 * its timeout would have (one that an earlier one's transition cancelled does
 * not fire).
 *
 * @example
 * ```ts
 * const dropped = restoreTimers(actor, record.timers, clock); // report these
 * ```
 */
export function restoreTimers(
  root: AnyActorRef,
  timers: readonly PersistedTimer[],
  clock: Clock,
): DroppedTimer[] {
  const system = systemOf(root);
  trackTimers(root, clock);
  // Most restored actors wait on nothing: they get no timeout bookkeeping.
  if (timers.length === 0) return [];
  const timeouts = timeoutsOf(system);
  const dropped: DroppedTimer[] = [];
  const restored: Array<{ timeout: Timeout; timer: PersistedTimer }> = [];
  const now = clock.now();
  for (const timer of timers) {
    const source = resolvePath(root, timer.source);
    const target = resolvePath(root, timer.target);
    if (!source || !target) {
      dropped.push({ timer, reason: 'its source or target actor no longer exists' });
      continue;
    }
    system.scheduler.schedule(
      source,
      target,
      timer.event,
      Math.max(0, timer.dueAt - now),
      timer.id,
    );
    const timeout = timeouts.byKey.get(`${source.sessionId}.${timer.id}`) as Timeout;
    timeout.entry.dueAt = timer.dueAt;
    restored.push({ timeout, timer });
  }
  // Scheduling in order left the last of each ID cancellable; XState had lost
  // track of some of those too.
  for (const { timeout, timer } of restored) {
    if (timer.uncancellable === true && isCancellable(timeouts, timeout)) {
      timeouts.byKey.delete(timeout.key);
      delete system._snapshot._scheduledEvents[timeout.key];
    }
  }
  for (const { timeout } of overdueFirst(restored, now)) {
    if (!timeouts.live.has(timeout)) continue;
    system._clock.clearTimeout(timeout.handle);
    timeout.fire();
  }
  return dropped;
}

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
    actor as unknown as { getPersistedSnapshot(options: unknown): unknown }
  ).getPersistedSnapshot({ __unsafeAllowInlineActors: true });
}

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
