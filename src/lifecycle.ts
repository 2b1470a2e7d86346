/**
 * Where an instance is in its life, as the registry hosts it (its XState
 * status — running, done, error, stopped — is another thing, kept beside it):
 *
 * - `live`: running, its actor hosted in memory;
 * - `passive`: running, unloaded to the store until something needs it;
 * - `finished`: done, failed or stopped, kept only to be read, replaced or purged;
 * - `gone`: out of the table (purged, replaced, taken over, or given back to the
 *   cluster); terminal.
 *
 * @example
 * ```ts
 * const life: Life = 'passive';
 * ```
 */
export type Life = 'live' | 'passive' | 'finished' | 'gone';

/**
 * Every legal move between {@link Life} states. The instance table is the only
 * one that moves an instance, and checks each move against this table.
 *
 * @example
 * ```ts
 * TRANSITIONS.passive.includes('live'); // true: activation
 * TRANSITIONS.finished.includes('live'); // false: a replacement is a new instance
 * ```
 */
export const TRANSITIONS: Readonly<Record<Life, readonly Life[]>> = {
  // passivate; finish (done, error, stop); purge --force, taken over, start undone
  live: ['passive', 'finished', 'gone'],
  // activate; purged or taken over while unloaded (an overdue final event may
  // also finish it during activation, before the activation counts as done)
  passive: ['live', 'finished', 'gone'],
  // purged, replaced, or given back to the cluster
  finished: ['gone'],
  gone: [],
};

/**
 * Something holding a {@link Life} state, moved only through {@link moveTo}.
 *
 * @example
 * ```ts
 * const subject: LifeHolder = { id: 'order-7', life: 'live' };
 * ```
 */
export interface LifeHolder {
  readonly id: string;
  life: Life;
}

/**
 * Moves `subject` to `to`, or throws if the move is not in {@link TRANSITIONS}
 * (a bug in the registry, never the caller's doing). Staying put is allowed.
 *
 * @example
 * ```ts
 * moveTo(instance, 'passive');
 * ```
 */
export function moveTo(subject: LifeHolder, to: Life): void {
  const from = subject.life;
  if (from === to) return;
  if (!TRANSITIONS[from].includes(to)) {
    throw new Error(
      `xstate-registry internal error: instance '${subject.id}' cannot go from ${from} to ${to}. Please report this.`,
    );
  }
  subject.life = to;
}
