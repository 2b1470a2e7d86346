import type { Clock } from './clock.js';
import type { RegistryError, SerializedError } from './errors.js';
import type { FrozenState, Instance, LifeFlags } from './instance.js';
import { type CountFilter, InstanceIndex } from './instance-index.js';
import type { InstanceWatchers } from './instance-watchers.js';
import { moveTo } from './lifecycle.js';
import type { ListFilter, ListPage } from './list-query.js';
import { statusOf } from './status.js';
import type { StatusCounts } from './status-tally.js';
import { type Store, type StoreKey, storeKey } from './stores/store.js';

/**
 * What the table needs from the persister: dropping the pending writes of an
 * instance that leaves it (passed down, so the table never calls back up).
 *
 * @example
 * ```ts
 * const table = new InstanceTable({ clock, writes: persister });
 * ```
 */
export interface PendingWrites {
  markDirty(instance: Instance): void;
  retire(instance: Instance, lost?: RegistryError): void;
}

/**
 * What the table needs from cluster hosting: a finished instance is nobody's,
 * so its lease is given back (once its final record is durable).
 *
 * @example
 * ```ts
 * table.useLeases(cluster);
 * ```
 */
export interface Leases {
  finished(instance: Instance): void;
}

/**
 * The one owner of the registry's instances by ID and of each one's
 * {@link Life}: every entry, exit and move of an instance goes through its
 * transition methods, which keep the invariants that go with them — a finished
 * or departed instance's waiters are told, its wake-up timer cleared, its
 * pending writes retired — and the `list()` indexes in step. Everyone else reads.
 *
 * @example
 * ```ts
 * const table = new InstanceTable({ clock, writes: persister });
 * table.admit(instance);        // live (or finished, or passive after sleep)
 * table.sleep(instance);        // live → passive
 * table.drop(instance, fenced); // → gone: waiters told, writes retired
 * ```
 */
export class InstanceTable {
  readonly #index = new InstanceIndex();
  readonly #clock: Clock;
  readonly #writes: PendingWrites;
  readonly #watchers: Pick<InstanceWatchers, 'size' | 'changed'> | undefined;
  #leases: Leases | undefined;
  /** Keys of records that could be neither loaded nor set aside (see {@link leaveInPlace}). */
  readonly #leftInPlace = new Set<StoreKey>();

  constructor(deps: {
    clock: Clock;
    writes: PendingWrites;
    /** Handles' per-ID watchers (`registry.actor(...).subscribe`), told of every change. */
    watchers?: Pick<InstanceWatchers, 'size' | 'changed'>;
  }) {
    this.#clock = deps.clock;
    this.#writes = deps.writes;
    this.#watchers = deps.watchers;
  }

  /** With a cluster store: where finished instances give their lease back (set once, after construction). */
  useLeases(leases: Leases): void {
    this.#leases = leases;
  }

  get(id: string): Instance | undefined {
    return this.#index.get(id);
  }

  has(id: string): boolean {
    return this.#index.has(id);
  }

  get size(): number {
    return this.#index.size;
  }

  values(): IterableIterator<Instance> {
    return this.#index.values();
  }

  /** One page of the instances `filter` selects, in creation order. */
  page(filter: ListFilter = {}): ListPage<Instance> {
    return this.#index.page(filter);
  }

  /** How many instances have each status (see `InstanceIndex.counts`). */
  counts(filter?: CountFilter): StatusCounts {
    return this.#index.counts(filter);
  }

  /**
   * Enters a new, restored or adopted instance: `live`, or `finished` if its
   * status says so. An instance it replaces under the same ID is dropped (its
   * pending writes retired: the new record overwrites the old).
   */
  admit(instance: Instance): void {
    const previous = this.#index.get(instance.id);
    if (previous && previous !== instance) this.#leave(previous, undefined);
    if (instance.status !== 'running') moveTo(instance, 'finished');
    this.#index.set(instance.id, instance);
  }

  /**
   * After every change of an instance: stamps it, files its status for
   * `list()`, queues its write and tells its waiters; a running instance that
   * stopped running is `finished`, and gives its cluster lease back.
   */
  changed(instance: Instance): void {
    instance.updatedAt = instance.lastActive = this.#clock.now();
    this.#index.touch(instance);
    this.#writes.markDirty(instance);
    if (instance.waiters?.size) instance.notifyWaiters();
    if (this.#watchers?.size) this.#watchers.changed(instance.id, () => statusOf(instance));
    if (instance.status === 'running') return;
    if (instance.life !== 'finished' && instance.life !== 'gone') moveTo(instance, 'finished');
    this.#leases?.finished(instance);
  }

  /**
   * A running instance completed, failed or was stopped: its status (and stop
   * reason or error) is written, then it is {@link changed}, which makes it `finished`.
   */
  finish(
    instance: Instance,
    status: 'done' | 'stopped' | 'error',
    detail: { stopReason?: string | undefined; error?: SerializedError } = {},
  ): void {
    instance.writeLife({ status, ...detail });
    this.changed(instance);
  }

  /** Marks the span of the actor's `start()`, whose re-emitted initial snapshot is not a change. */
  starting(instance: Instance, starting: boolean): void {
    instance.writeLife(starting ? STARTING : STARTED);
  }

  /**
   * The registry is about to stop hosting the actor: its last state is kept
   * (with its timers when `keepTimers`), and the actor's coming 'stopped' is
   * marked as the registry's, not the user's.
   */
  detach(instance: Instance, keepTimers: boolean): void {
    instance.freeze(keepTimers);
    instance.writeLife({ detaching: true });
  }

  /** Its latest state is durable in the store: the copy kept in memory goes. */
  stored(instance: Instance): void {
    instance.writeLife({ frozen: undefined });
  }

  /**
   * `live` → `passive`: unloaded; passivation arms its wake-up timer after this.
   * `frozen`: its state, when only memory holds it (its last write failed).
   */
  sleep(instance: Instance, frozen?: FrozenState): void {
    moveTo(instance, 'passive');
    this.#clearWakeTimer(instance);
    if (frozen) instance.writeLife({ frozen });
  }

  /** `passive` → `live`: being activated (from the state it had; the copy kept in memory goes). */
  wake(instance: Instance): void {
    moveTo(instance, 'live');
    this.#clearWakeTimer(instance);
    instance.writeLife({ frozen: undefined, detaching: false });
  }

  /**
   * → `gone`: out of the table (purged, taken over when `lost` is given, or
   * given back to the cluster). Its pending writes are retired (their waiters
   * reject with `lost`), its wake-up timer cleared, its `waitFor` callers told.
   * Does nothing if the table holds another instance under its ID.
   */
  drop(instance: Instance, lost?: RegistryError): void {
    if (this.#index.get(instance.id) === instance) this.#index.delete(instance.id);
    this.#leave(instance, lost);
  }

  /**
   * A stored record that could be neither loaded nor moved aside stays where it
   * is, under `key`: remembered until the table is cleared, so that no new
   * instance of its ID is written over it (see {@link leftInPlace}).
   */
  leaveInPlace(key: StoreKey): void {
    this.#leftInPlace.add(key);
  }

  /**
   * The key under which `store` holds a record of `id` that was left in place,
   * or `undefined`. Free when none was: no key is computed.
   */
  leftInPlace(id: string, store: Pick<Store, 'keyOf'>): StoreKey | undefined {
    if (this.#leftInPlace.size === 0) return undefined;
    const key = store.keyOf?.(id) ?? storeKey(id);
    return this.#leftInPlace.has(key) ? key : undefined;
  }

  /** Drops every instance (a failed start undone), without telling anyone: nobody could ask yet. */
  clear(): void {
    this.#leftInPlace.clear();
    for (const instance of this.#index.values()) {
      moveTo(instance, 'gone');
      this.#clearWakeTimer(instance);
      this.#writes.retire(instance);
    }
    this.#index.clear();
  }

  #leave(instance: Instance, lost: RegistryError | undefined): void {
    if (instance.life === 'gone') return;
    moveTo(instance, 'gone');
    this.#clearWakeTimer(instance);
    this.#writes.retire(instance, lost);
    instance.notifyWaiters();
  }

  #clearWakeTimer(instance: Instance): void {
    if (instance.wakeTimer === undefined) return;
    this.#clock.clearTimeout(instance.wakeTimer);
    instance.wakeTimer = undefined;
  }
}

// Every spawn and restore marks its start twice: shared patches, not two objects each time.
const STARTING: Partial<LifeFlags> = Object.freeze({ starting: true });
const STARTED: Partial<LifeFlags> = Object.freeze({ starting: false });
