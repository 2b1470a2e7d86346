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
  /**
   * Set when XState's `cancel` can no longer reach this event: another one was
   * scheduled under the same ID after it, or one under its ID fired (see
   * {@link trackTimers}). It still fires.
   */
  uncancellable?: true;
}

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

const TIMERS = Symbol('xstate-registry.timers');

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

/** One timeout the scheduler set: live until it fires or XState's `cancel` clears it. */
interface Timeout {
  key: string;
  entry: ScheduledEvent;
  handle: unknown;
  fire(): void;
}

/**
 * XState's scheduler state, kept where this module can read it. XState keeps
 * one record per `sessionId.id` key (`timerMap`, `_scheduledEvents`), but
 * scheduling a key that is still pending, without cancelling it first (a
 * delayed `raise`/`sendTo` with an explicit `id` sent twice; an `after` of a
 * state entered again without being exited, as through a history state that
 * resolves back to the source) overwrites the record and leaves the older
 * timeout running: it still fires, and then deletes the newer one's record, so
 * the newer one fires too but can no longer be cancelled. Those timeouts are
 * pending delayed events all the same, and only this mirror can see them.
 */
interface Timeouts {
  /** Every live timeout, in the order it was scheduled (a restore replays that order). */
  live: Set<Timeout>;
  /** The timeout XState's `cancel` would clear, per key: XState's own `timerMap`. */
  byKey: Map<string, Timeout>;
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
  const { scheduler, _clock: xclock } = system;
  // Mirrors createSystem's scheduler in xstate/src/system.ts line by line;
  // test/duplicate-timers.test.ts compares it with XState's own.
  scheduler.schedule = (source, target, event, delay, id = Math.random().toString(36).slice(2)) => {
    const key = `${source.sessionId}.${id}`;
    const entry: ScheduledEvent = {
      source,
      target,
      event,
      delay,
      id,
      startedAt: Date.now(),
      dueAt: clock.now() + delay,
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
        system._relay(source, target, event);
      },
    };
    timeout.handle = xclock.setTimeout(timeout.fire, delay);
    const timeouts = timeoutsOf(system);
    timeouts.byKey.set(key, timeout);
    timeouts.live.add(timeout);
  };
  scheduler.cancel = (source, id) => {
    const key = `${source.sessionId}.${id}`;
    const timeouts = system[TIMERS];
    const timeout = timeouts?.byKey.get(key);
    timeouts?.byKey.delete(key);
    delete system._snapshot._scheduledEvents[key];
    if (timeouts && timeout) {
      xclock.clearTimeout(timeout.handle);
      timeouts.live.delete(timeout);
    }
  };
}

/** The timeouts trackTimers keeps for `system`, created with its first delayed event. */
function timeoutsOf(system: InternalSystem): Timeouts {
  let timeouts = system[TIMERS];
  if (!timeouts) {
    timeouts = { live: new Set(), byKey: new Map() };
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
        uncancellable: timeouts.byKey.get(t.key) !== t,
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

/** What {@link restoreTimers} could not re-create, and why. */
export interface DroppedTimer {
  timer: PersistedTimer;
  reason: string;
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
    if (timer.uncancellable === true && timeouts.byKey.get(timeout.key) === timeout) {
      timeouts.byKey.delete(timeout.key);
      delete system._snapshot._scheduledEvents[timeout.key];
    }
  }
  const overdue = restored.filter(({ timer }) => timer.dueAt <= now);
  overdue.sort((a, b) => a.timer.dueAt - b.timer.dueAt);
  for (const { timeout } of overdue) {
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
