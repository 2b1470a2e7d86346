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
 * transition, which cost a fifth of the time of each `send`. `test/xstate-internals.test.ts` pins every
 * one of those shapes, so an XState upgrade that changes them fails loudly there.
 */
import type { AnyActorRef, AnyEventObject } from 'xstate';
import { type Clock, systemClock } from './clock.js';

/** A pending delayed event as persisted: actors are addressed by their path of IDs from the root. */
export interface PersistedTimer {
  /** XState's scheduled-event ID (the `id` of a delayed action, or XState's generated one). */
  id: string;
  /** Path of child IDs from the root actor to the actor that scheduled the event (`[]` = the root). */
  source: string[];
  /** Path of child IDs from the root actor to the receiving actor. */
  target: string[];
  event: AnyEventObject;
  /** Absolute due time, epoch milliseconds on the registry's clock. */
  dueAt: number;
}

interface ScheduledEvent {
  source: AnyActorRef;
  target: AnyActorRef;
  event: AnyEventObject;
  delay: number;
  id: string;
  /** Wall time when XState scheduled it (XState uses Date.now(), whatever the clock). */
  startedAt: number;
  /** Set by trackTimers on clocks other than wall time. */
  dueAt?: number;
}

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
  _relay(source: AnyActorRef | undefined, target: AnyActorRef, event: AnyEventObject): void;
  _sendInspectionEvent(event: {
    type: string;
    actorRef?: AnyActorRef;
    snapshot?: unknown;
    event?: AnyEventObject;
  }): void;
  __registryTracked?: true;
}

function systemOf(actor: AnyActorRef): InternalSystem {
  const system = (actor as unknown as { system?: InternalSystem }).system;
  if (
    !system ||
    typeof system.scheduler?.schedule !== 'function' ||
    typeof system._snapshot?._scheduledEvents !== 'object' ||
    typeof system._relay !== 'function' ||
    typeof system._sendInspectionEvent !== 'function'
  ) {
    throw new Error(
      'xstate-registry: this XState version does not expose the scheduler internals ' +
        'it relies on (system.scheduler, system._snapshot._scheduledEvents, system._relay, ' +
        'system._sendInspectionEvent). ' +
        'Pin xstate to a version xstate-registry supports.',
    );
  }
  return system;
}

/**
 * Makes the actor's system record each delayed event's absolute due time on
 * `clock`. Call once per root actor, before `start()`.
 */
export function trackTimers(root: AnyActorRef, clock: Clock): void {
  // On wall time XState's own `startedAt` (Date.now()) plus `delay` is the due
  // time already: only other clocks (simulated ones) need the wrapper.
  if (clock === systemClock) return;
  const system = systemOf(root);
  if (system.__registryTracked) return;
  system.__registryTracked = true;
  const original = system.scheduler.schedule.bind(system.scheduler);
  system.scheduler.schedule = (source, target, event, delay, id) => {
    const eventId = id ?? Math.random().toString(36).slice(2);
    original(source, target, event, delay, eventId);
    const entry = system._snapshot._scheduledEvents[`${source.sessionId}.${eventId}`];
    if (entry) entry.dueAt = clock.now() + delay;
  };
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

function resolvePath(root: AnyActorRef, path: readonly string[]): AnyActorRef | undefined {
  let current: AnyActorRef | undefined = root;
  for (const id of path) {
    const snapshot: { children?: Record<string, AnyActorRef> } | undefined = current?.getSnapshot();
    current = snapshot?.children?.[id];
    if (!current) return undefined;
  }
  return current;
}

/**
 * The pending delayed events of `root`'s actor tree, with due times. Events whose
 * source or target lies outside the tree cannot be addressed after a restart and
 * are left out.
 */
export function readTimers(root: AnyActorRef): PersistedTimer[] {
  const out: PersistedTimer[] = [];
  const scheduled = systemOf(root)._snapshot._scheduledEvents;
  for (const key in scheduled) {
    const entry = scheduled[key];
    const dueAt = entry?.dueAt ?? (entry ? entry.startedAt + entry.delay : Number.NaN);
    if (!entry || !Number.isFinite(dueAt)) continue;
    const source = pathOf(root, entry.source);
    const target = pathOf(root, entry.target);
    if (!source || !target) continue;
    // An actor XState left running after it was replaced under the same ID (an
    // orphan, no longer in its parent's children) is not part of the state: its
    // events, re-addressed by path, would reach the live actor with that ID.
    if (resolvePath(root, source) !== entry.source || resolvePath(root, target) !== entry.target)
      continue;
    out.push({ id: entry.id, source, target, event: entry.event, dueAt });
  }
  return out;
}

/** What {@link restoreTimers} could not re-create, and why. */
export interface DroppedTimer {
  timer: PersistedTimer;
  reason: string;
}

/**
 * Re-creates persisted delayed events on a started, restored root actor: those
 * not yet due are scheduled for their original due time; those that fell due
 * while nothing hosted the actor are delivered now, oldest first.
 */
export function restoreTimers(
  root: AnyActorRef,
  timers: readonly PersistedTimer[],
  clock: Clock,
): DroppedTimer[] {
  const system = systemOf(root);
  const dropped: DroppedTimer[] = [];
  const overdue: Array<{ source: AnyActorRef; target: AnyActorRef; timer: PersistedTimer }> = [];
  const now = clock.now();
  for (const timer of timers) {
    const source = resolvePath(root, timer.source);
    const target = resolvePath(root, timer.target);
    if (!source || !target) {
      dropped.push({ timer, reason: 'its source or target actor no longer exists' });
      continue;
    }
    if (timer.dueAt <= now) overdue.push({ source, target, timer });
    else system.scheduler.schedule(source, target, timer.event, timer.dueAt - now, timer.id);
  }
  overdue.sort((a, b) => a.timer.dueAt - b.timer.dueAt);
  for (const { source, target, timer } of overdue) system._relay(source, target, timer.event);
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

/** Called for every snapshot update of any actor in a root's tree (root or child), with the context given to {@link watchSnapshots}. */
export type SnapshotWatcher<C> = (
  context: C,
  actorRef: AnyActorRef,
  snapshot: unknown,
  event: AnyEventObject,
) => void;

const WATCH = Symbol('xstate-registry.watch');

interface Watch {
  watcher: SnapshotWatcher<any>;
  context: unknown;
  original: InternalSystem['_sendInspectionEvent'];
}

// One function for every system, finding its watcher on the system itself: an
// actor host creates thousands of systems, and a closure each would add up.
function watchedInspection(
  this: InternalSystem & { [WATCH]: Watch },
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
 * changes). Install before `start()`. XState's own inspection observers still
 * receive everything.
 */
export function watchSnapshots<C>(
  root: AnyActorRef,
  watcher: SnapshotWatcher<C>,
  context: C,
): void {
  const system = systemOf(root) as InternalSystem & { [WATCH]?: Watch };
  system[WATCH] = { watcher, context, original: system._sendInspectionEvent };
  system._sendInspectionEvent = watchedInspection;
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
