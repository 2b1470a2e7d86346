/**
 * Pending delayed events, through XState's scheduler internals.
 *
 * XState v5 keeps pending delayed events (`after`, delayed `raise`, delayed
 * `sendTo`) in its actor system's scheduler, and `getPersistedSnapshot()` leaves
 * them out (statelyai/xstate #5331, #4860): a restored actor waiting on `after`
 * would wait forever. There is no public API for them, so this module reads and
 * re-creates them through `actor.system.scheduler`, `system._snapshot._scheduledEvents`,
 * `system._relay` and `actorRef._parent`. `src/xstate-internals/` is the one place
 * that reaches into XState; `test/xstate-internals.test.ts` pins every shape used,
 * so an XState upgrade that changes one fails loudly there.
 */
import type { AnyActorRef, AnyEventObject } from 'xstate';
import { resolvePath } from '../actor-path.js';
import { type Clock, systemClock } from '../clock.js';
import type { DroppedTimer, PersistedTimer } from '../persisted-timer.js';
import {
  emptyTimeouts,
  isCancellable,
  type Timeout as MirrorTimeout,
  overdueFirst,
} from '../timeout-mirror.js';
import {
  CLOCK,
  FIRING,
  type InternalSystem,
  type ScheduledEvent,
  systemOf,
  TIMERS,
  type Timeouts,
} from './internal-system.js';

/** A timeout of XState's scheduler, as the mirror keeps it (see timeout-mirror.ts). */
type Timeout = MirrorTimeout<ScheduledEvent>;

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
  system[CLOCK] = clock;
  const scheduler = system.scheduler;
  scheduler.schedule = trackedSchedule;
  scheduler.cancel = trackedCancel;
}

// Shared by every tracked system, finding the system through the source actor
// (XState schedules and cancels only for actors of the system itself, see
// test/xstate-internals.test.ts) and the clock on the system: two closures and
// their context per actor cost ~100 B per idle actor, and a property on the
// scheduler object another 40 B (it has no room for one: a new property array).
// They mirror createSystem's scheduler in xstate/src/system.ts line by line;
// test/duplicate-timers.test.ts compares them with XState's own.
function trackedSchedule(
  source: AnyActorRef,
  target: AnyActorRef,
  event: AnyEventObject,
  delay: number,
  id: string = Math.random().toString(36).slice(2),
): void {
  const system = systemOfSource(source);
  const key = `${source.sessionId}.${id}`;
  const entry: ScheduledEvent = {
    source,
    target,
    event,
    delay,
    id,
    startedAt: Date.now(),
    dueAt: (system[CLOCK] as Clock).now() + dueIn(delay),
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

function trackedCancel(source: AnyActorRef, id: string): void {
  const system = systemOfSource(source);
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

// XState's actor refs carry their system; the public type does not say so.
const systemOfSource = (source: AnyActorRef) =>
  (source as unknown as { system: InternalSystem }).system;

/** The timeouts trackTimers keeps for `system`, created with its first delayed event. */
function timeoutsOf(system: InternalSystem): Timeouts {
  let timeouts = system[TIMERS];
  if (!timeouts) {
    timeouts = emptyTimeouts();
    system[TIMERS] = timeouts;
  }
  return timeouts;
}

/**
 * How long after scheduling a delay falls due: a NaN or negative delay fires
 * at once (Node's timers and the test clock both take it as 0), so it is
 * dated now, never NaN; a delay past any date (1e20, Infinity) stays as it is.
 */
function dueIn(delay: number): number {
  // biome-ignore lint/complexity/useMathMinMax: Math.max(NaN, 0) is NaN; this is 0
  return delay > 0 ? delay : 0;
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
    // An infinite delay is kept (due never), so the state after a restart is the same.
    const dueAt = entry.dueAt ?? entry.startedAt + dueIn(entry.delay);
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
 * Clears every timeout still armed for `root`'s system, once the registry has
 * stopped the actor: XState's stop cancels the delayed events it tracks, but
 * not one it lost track of (scheduled twice under one ID), which would keep
 * the stopped actor and the process alive until it fell due. Its state is in
 * the record already (`uncancellable`), for the actor's next life.
 *
 * @example
 * ```ts
 * actor.stop();
 * clearTimers(actor);
 * ```
 */
export function clearTimers(root: AnyActorRef): void {
  const system = systemOf(root);
  const timeouts = system[TIMERS];
  if (!timeouts) return;
  for (const timeout of timeouts.live) system._clock.clearTimeout(timeout.handle);
  timeouts.live.clear();
  timeouts.byKey.clear();
}
