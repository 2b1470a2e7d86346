import { RegistryError } from './errors.js';
import type { CountFilter } from './instance-index.js';
import { typesOf } from './list-query.js';
import type { RegistryParts } from './registry-parts.js';
import type { StatusCounts } from './status-tally.js';

/**
 * Gauges of a registry, for monitoring (see `registry.stats()`).
 *
 * @example
 * ```ts
 * const { live, passive }: RegistryStats = registry.stats();
 * ```
 */
export interface RegistryStats {
  instances: number;
  live: number;
  passive: number;
  pendingWrites: number;
  waiters: number;
}

/**
 * Counts instances known, actors live in memory, instances passivated,
 * instances whose latest change is not yet written, and pending `waitFor` calls.
 *
 * @example
 * ```ts
 * metrics.gauge('registry', registryStats(parts));
 * ```
 */
export function registryStats(parts: RegistryParts): RegistryStats {
  let live = 0;
  let passive = 0;
  let waiters = 0;
  for (const instance of parts.instances.values()) {
    waiters += instance.waiters?.size ?? 0;
    if (instance.passive) passive++;
    else if (instance.status === 'running' && instance.actor) live++;
  }
  return {
    instances: parts.instances.size,
    live,
    passive,
    pendingWrites: parts.persister.queued,
    // Waits on instances other processes host watch the store, not an instance here.
    waiters: waiters + (parts.remote?.waiting ?? 0),
  };
}

/**
 * `registry.health()`: `open` once started and until closed; `storeFailing`
 * from a failed store write until every change is durable again.
 *
 * @example
 * ```ts
 * if (!registryHealth(parts).open) return 503;
 * ```
 */
export function registryHealth(parts: RegistryParts): { open: boolean; storeFailing: boolean } {
  return { open: parts.gate.phase === 'open', storeFailing: parts.persister.failing };
}

/**
 * `registry.counts()`: how many instances have each status, from the instance
 * table's counters, or by the database with a cluster store; `INVALID_ARGUMENT` for a bad filter.
 *
 * @example
 * ```ts
 * const { running, total } = await countStatuses(parts, { type: 'job' });
 * ```
 */
export async function countStatuses(
  parts: RegistryParts,
  filter: CountFilter,
): Promise<StatusCounts> {
  await parts.gate.ready();
  if (filter === null || typeof filter !== 'object')
    throw new RegistryError('INVALID_ARGUMENT', 'counts() takes a filter object.');
  if (filter.idPrefix !== undefined && typeof filter.idPrefix !== 'string')
    throw new RegistryError('INVALID_ARGUMENT', 'counts(): idPrefix must be a string.');
  typesOf(filter.type, 'counts()');
  // With a cluster store the database counts every process's instances, as last stored.
  if (parts.cluster) return parts.cluster.counts(filter);
  return parts.instances.counts(filter);
}
