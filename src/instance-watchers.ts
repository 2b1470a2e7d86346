import type { RegistryError } from './errors.js';
import type { InstanceStatus } from './status.js';

/** What a watcher of one instance ID is told: it changed, it is gone, or the registry closed. */
export interface InstanceWatcher {
  changed(status: InstanceStatus): void;
  gone(error: RegistryError): void;
  closed(): void;
}

/**
 * Watchers by instance ID, for `registry.actor(...).subscribe`: a change costs
 * one map lookup, whatever the number of watchers of other IDs. Keyed by ID,
 * not by instance, so a watcher outlives passivation and replacement.
 *
 * @example
 * ```ts
 * const watchers = new InstanceWatchers();
 * const unwatch = watchers.add('j1', { changed() {}, gone() {}, closed() {} });
 * watchers.changed('j1', () => status);
 * unwatch();
 * ```
 */
export class InstanceWatchers {
  readonly #byId = new Map<string, Set<InstanceWatcher>>();
  /** Set by {@link closeAll}: the registry is closed, and nothing will change again. */
  #closed = false;

  get size(): number {
    return this.#byId.size;
  }

  /** Watches `id`; once the registry is closed, `watcher` is told so at once and kept nowhere. */
  add(id: string, watcher: InstanceWatcher): () => void {
    if (this.#closed) {
      watcher.closed();
      return () => {};
    }
    const set = this.#byId.get(id) ?? new Set<InstanceWatcher>();
    this.#byId.set(id, set);
    set.add(watcher);
    return () => {
      const current = this.#byId.get(id);
      if (!current?.delete(watcher)) return;
      if (current.size === 0) this.#byId.delete(id);
    };
  }

  /** `status` is built only if `id` has watchers, and once for all of them. */
  changed(id: string, status: () => InstanceStatus): void {
    const set = this.#byId.get(id);
    if (!set) return;
    const current = status();
    for (const watcher of [...set]) watcher.changed(current);
  }

  /** The instance was purged: its watchers are told once and dropped. */
  gone(id: string, error: RegistryError): void {
    const set = this.#byId.get(id);
    if (!set) return;
    this.#byId.delete(id);
    for (const watcher of set) watcher.gone(error);
  }

  closeAll(): void {
    this.#closed = true;
    const all = [...this.#byId.values()];
    this.#byId.clear();
    for (const set of all) for (const watcher of set) watcher.closed();
  }
}
