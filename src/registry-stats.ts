import type { RegistryParts } from './registry-parts.js';

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
    waiters,
  };
}
