import type { AnyEventObject } from 'xstate';

// The delayed events a record carries (XState's snapshot leaves them out), in
// terms of the actor tree's public shape: paths of child IDs, not actor objects.

/**
 * A pending delayed event as persisted: actors are addressed by their path of IDs from the root.
 *
 * @example
 * ```ts
 * const timer: PersistedTimer = { id: 'tick', source: [], target: [], event: { type: 'TICK' }, dueAt: Date.now() + 1000 };
 * ```
 */
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
   * `trackTimers` in xstate-internals.ts). It still fires.
   */
  uncancellable?: true;
}

/**
 * A persisted delayed event that `restoreTimers` could not re-create, and why.
 *
 * @example
 * ```ts
 * for (const { timer, reason } of dropped) console.warn(timer.id, reason);
 * ```
 */
export interface DroppedTimer {
  timer: PersistedTimer;
  reason: string;
}
