import type { Instance } from './instance.js';
import type { InstanceStatusName } from './record.js';

const STATUSES: readonly InstanceStatusName[] = ['running', 'done', 'error', 'stopped'];

/**
 * How many instances have each status, and in all.
 *
 * @example
 * ```ts
 * const { running, total } = await registry.counts({ type: 'job' });
 * ```
 */
export type StatusCounts = Record<InstanceStatusName, number> & { total: number };

/**
 * Counters of instances per status, overall and per type, kept up to date on
 * every change so that counting costs nothing per instance. Each instance is
 * counted under one status at a time.
 *
 * @example
 * ```ts
 * const tally = new StatusTally();
 * tally.count(instance); // after every change
 * tally.totals(['job']); // { running: 1, done: 0, error: 0, stopped: 0, total: 1 }
 * ```
 */
export class StatusTally {
  // What each instance is counted as lives on the instance (`tallied`), not in a
  // WeakMap: an ephemeron entry per instance costs more to make and to collect.
  #counts = new Map<string | undefined, Record<InstanceStatusName, number>>();

  /** Counts `instance` under its current status (moving it from the one it was counted under). */
  count(instance: Instance): void {
    const counted = instance.tallied;
    if (counted === instance.status) return;
    if (counted) this.uncount(instance);
    instance.tallied = instance.status;
    this.#add(instance.type, instance.status, 1);
  }

  /** Stops counting `instance` (removed, or replaced). */
  uncount(instance: Instance): void {
    const counted = instance.tallied;
    if (!counted) return;
    instance.tallied = undefined;
    this.#add(instance.type, counted, -1);
  }

  /** The counts of all instances, or of those of `types`. */
  totals(types?: Iterable<string>): StatusCounts {
    const out: StatusCounts = { running: 0, done: 0, error: 0, stopped: 0, total: 0 };
    for (const key of types ?? [undefined]) {
      const c = this.#counts.get(key);
      if (c) for (const s of STATUSES) out[s] += c[s];
    }
    out.total = out.running + out.done + out.error + out.stopped;
    return out;
  }

  /** Forgets every count; the caller uncounts (or forgets) the instances it counted. */
  clear(): void {
    this.#counts.clear();
  }

  #add(type: string, status: InstanceStatusName, delta: number): void {
    this.#of(undefined)[status] += delta;
    this.#of(type)[status] += delta;
  }

  #of(key: string | undefined): Record<InstanceStatusName, number> {
    let c = this.#counts.get(key);
    if (!c) {
      c = { running: 0, done: 0, error: 0, stopped: 0 };
      this.#counts.set(key, c);
    }
    return c;
  }
}
