// The mirror of XState's scheduler state that `trackTimers` (xstate-internals.ts)
// keeps: plain data structures, fed by its scheduler hooks, read when timers are
// persisted and re-created.

/**
 * One timeout the scheduler set: live until it fires or XState's `cancel` clears it.
 * `E` is the scheduler's own record of the delayed event.
 *
 * @example
 * ```ts
 * const timeout: Timeout<{ id: string }> = { key: 's1.tick', entry: { id: 'tick' }, handle: undefined, fire() {} };
 * ```
 */
export interface Timeout<E> {
  key: string;
  entry: E;
  handle: unknown;
  fire(): void;
}

/**
 * XState's scheduler state, kept where the registry can read it. XState keeps
 * one record per `sessionId.id` key (its timer map and its scheduled-events
 * record), but scheduling a key that is still pending, without cancelling it
 * first (a delayed `raise`/`sendTo` with an explicit `id` sent twice; an `after`
 * of a state entered again without being exited, as through a history state
 * that resolves back to the source) overwrites the record and leaves the older
 * timeout running: it still fires, and then deletes the newer one's record, so
 * the newer one fires too but can no longer be cancelled. Those timeouts are
 * pending delayed events all the same, and only this mirror can see them.
 *
 * @example
 * ```ts
 * const timeouts: Timeouts<ScheduledEvent> = emptyTimeouts();
 * ```
 */
export interface Timeouts<E> {
  /** Every live timeout, in the order it was scheduled (a restore replays that order). */
  live: Set<Timeout<E>>;
  /** The timeout XState's `cancel` would clear, per key: XState's own `timerMap`. */
  byKey: Map<string, Timeout<E>>;
}

/**
 * A mirror with no timeouts yet (made with a system's first delayed event).
 *
 * @example
 * ```ts
 * system[TIMERS] = emptyTimeouts();
 * ```
 */
export function emptyTimeouts<E>(): Timeouts<E> {
  return { live: new Set(), byKey: new Map() };
}

/**
 * Whether XState's `cancel` still reaches `timeout`: it is the one its key names.
 *
 * @example
 * ```ts
 * const timer = { ...persisted, ...(isCancellable(timeouts, t) ? {} : { uncancellable: true }) };
 * ```
 */
export function isCancellable<E>(timeouts: Timeouts<E>, timeout: Timeout<E>): boolean {
  return timeouts.byKey.get(timeout.key) === timeout;
}

/**
 * The restored timers that fell due while nothing hosted their actor (due at
 * or before `now`), oldest first: the order their timeouts would have fired in.
 *
 * @example
 * ```ts
 * for (const { timeout } of overdueFirst(restored, clock.now())) timeout.fire();
 * ```
 */
export function overdueFirst<T extends { timer: { dueAt: number } }>(
  restored: readonly T[],
  now: number,
): T[] {
  const overdue = restored.filter(({ timer }) => timer.dueAt <= now);
  overdue.sort((a, b) => a.timer.dueAt - b.timer.dueAt);
  return overdue;
}
