import type { RegistryError, SerializedError } from './errors.js';
import type { HistoryLog } from './history.js';
import type { IdempotencyLog } from './idempotency.js';
import type { PersistedTimer } from './persisted-timer.js';

/**
 * The last state of an instance that is not live, kept in memory.
 *
 * @example
 * ```ts
 * const frozen: FrozenState = { snapshot: persisted, timers: [] };
 * ```
 */
export interface FrozenState {
  snapshot: unknown;
  timers: PersistedTimer[];
}

/**
 * The fields of an instance that most instances never set (a stop reason, an
 * error, a frozen state, a write failure, a wake-up timer, idempotency keys, a
 * journal, waiters): kept apart, so that each of the many idle live instances
 * holds one slot for them rather than nine. Only {@link Instance} makes one,
 * on the first such field set, and reads it through its accessors.
 *
 * @example
 * ```ts
 * this.#rare ??= new RareFields();
 * this.#rare.stopReason = 'cancelled';
 * ```
 */
export class RareFields {
  stopReason: string | undefined = undefined;
  error: SerializedError | undefined = undefined;
  frozen: FrozenState | undefined = undefined;
  persistError: RegistryError | undefined = undefined;
  wakeTimer: unknown = undefined;
  idempotencyKeys: IdempotencyLog | undefined = undefined;
  history: HistoryLog | undefined = undefined;
  waiters: Set<() => void> | undefined = undefined;
  unfreezable: unknown = undefined;
}
