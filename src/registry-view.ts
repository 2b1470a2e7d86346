import type { AnyActor } from 'xstate';
import type { Clock } from './clock.js';
import type { HistoryPage } from './history.js';
import { readHistory } from './history-query.js';
import type { CountFilter } from './instance-index.js';
import type { ListFilter, ListPage } from './list-query.js';
import type { MachineMap } from './machines.js';
import { listQuarantined, listStatuses, liveActor, readStatus } from './read-status.js';
import type { RegistryEventName, RegistryEvents } from './registry-events.js';
import type { RegistryParts } from './registry-parts.js';
import {
  countStatuses,
  type RegistryStats,
  registryHealth,
  registryStats,
} from './registry-stats.js';
import type { InstanceStatus } from './status.js';
import type { StatusCounts } from './status-tally.js';
import type { SetAsidePage, SetAsideQuery } from './stores/store.js';
import type { TypedRegistryEvents } from './typed-events.js';
import type { StatusOf, TypeName, TypeOption } from './types.js';
import type { WaitCondition } from './wait-for.js';
import { waitForInstance } from './wait-for-instance.js';

/**
 * The side of a {@link Registry} that changes nothing: its clock, lifecycle
 * event subscriptions, statuses, lists, counts, history, gauges and `waitFor`.
 * The registry extends it; it is not made on its own.
 *
 * @example
 * ```ts
 * // Every registry is one: these calls read, never change.
 * const { running } = await registry.counts();
 * const status = await registry.getStatus('nightly');
 * ```
 */
export class RegistryView<M extends MachineMap = MachineMap> {
  readonly #parts: RegistryParts;

  constructor(parts: RegistryParts) {
    this.#parts = parts;
  }

  /** The clock every actor of this registry runs on. */
  get clock(): Clock {
    return this.#parts.clock;
  }

  /**
   * Subscribes to a lifecycle event. A listener that throws is reported, never
   * propagated. Payloads are unions discriminated on `type` (see {@link TypedRegistryEvents}).
   */
  on<E extends RegistryEventName>(
    name: E,
    listener: (payload: TypedRegistryEvents<M>[E]) => void,
  ): this {
    this.#parts.emitter.on(name, listener as (payload: RegistryEvents[E]) => void);
    return this;
  }

  /** Subscribes for one occurrence. */
  once<E extends RegistryEventName>(
    name: E,
    listener: (payload: TypedRegistryEvents<M>[E]) => void,
  ): this {
    this.#parts.emitter.on(name, listener as (payload: RegistryEvents[E]) => void, true);
    return this;
  }

  off<E extends RegistryEventName>(
    name: E,
    listener: (payload: TypedRegistryEvents<M>[E]) => void,
  ): this {
    this.#parts.emitter.off(name, listener as (payload: RegistryEvents[E]) => void);
    return this;
  }

  /**
   * Gauges for monitoring: instances known, actors live in memory, instances
   * passivated, instances whose latest change is not yet written, and pending
   * `waitFor` calls (long polls among them).
   *
   * @example
   * ```ts
   * setInterval(() => metrics.gauge('registry', registry.stats()), 10_000);
   * ```
   */
  stats(): RegistryStats {
    return registryStats(this.#parts);
  }

  /**
   * Whether the registry can serve, for readiness probes: `open` once started
   * and until closed; `storeFailing` from a failed store write until every
   * change is durable again.
   *
   * @example
   * ```ts
   * const { open, storeFailing } = registry.health();
   * if (!open || storeFailing) return new Response('not ready', { status: 503 });
   * ```
   */
  health(): { open: boolean; storeFailing: boolean } {
    return registryHealth(this.#parts);
  }

  /** The live, running actor for `id`, or `undefined`. Synchronous. */
  get(id: string): AnyActor | undefined {
    return liveActor(this.#parts, id);
  }

  /**
   * The status of `id`, or `undefined` if there is no such instance: a union
   * discriminated on `type`, or, with `{ type }`, that machine's status
   * (`TYPE_MISMATCH` if the instance has another type).
   *
   * @example
   * ```ts
   * const s = await registry.getStatus('nightly', { type: 'job' });
   * console.log(s?.context.day);
   * ```
   */
  getStatus(id: string): Promise<StatusOf<M> | undefined>;
  getStatus<K extends TypeName<M>>(
    id: string,
    options: TypeOption<K>,
  ): Promise<StatusOf<M, K> | undefined>;
  getStatus(id: string, options?: TypeOption<string>): Promise<InstanceStatus | undefined> {
    return readStatus(this.#parts, id, options?.type);
  }

  /**
   * One page of statuses, ordered by creation time.
   *
   * @example
   * ```ts
   * let page = await registry.list({ status: 'running', type: 'job', limit: 50 });
   * while (page.cursor) page = await registry.list({ status: 'running', type: 'job', limit: 50, cursor: page.cursor });
   * ```
   */
  list<K extends TypeName<M>>(
    filter: ListFilter & { type: K | readonly K[] },
  ): Promise<ListPage<StatusOf<M, K>>>;
  list(filter?: ListFilter): Promise<ListPage<StatusOf<M>>>;
  list(filter: ListFilter = {}): Promise<ListPage<InstanceStatus>> {
    return listStatuses(this.#parts, filter);
  }

  /**
   * How many instances have each status, optionally of some types or under an
   * ID prefix: from counters the registry keeps, so it costs nothing per
   * instance (with `idPrefix`, per instance under that prefix). With a cluster
   * store it answers `INVALID_ARGUMENT`: the counts live in the database there.
   *
   * @example
   * ```ts
   * const { running, error, total } = await registry.counts({ type: 'job' });
   * ```
   */
  counts(filter: CountFilter = {}): Promise<StatusCounts> {
    return countStatuses(this.#parts, filter);
  }

  /**
   * A page of the records the store set aside (quarantined) because they could
   * not be loaded, newest first, and the `cursor` of the next page (`null` on
   * the last): at most `limit` (default 1,000, at most 10,000); `undefined`
   * when the store cannot list them. Restore
   * one with the store's `restoreSetAside(key)` (CLI: `quarantine restore KEY`)
   * once its cause is fixed; it is loaded at the next start.
   *
   * @example
   * ```ts
   * for (const r of (await registry.quarantined())?.items ?? []) console.warn(r.key, r.id, r.reason);
   * ```
   */
  quarantined(query?: SetAsideQuery): Promise<SetAsidePage | undefined> {
    return listQuarantined(this.#parts, query);
  }

  /**
   * One page of the transitions of `id`, oldest first, with the cursor of the
   * next page (`null` on the last): for live, passive and finished instances,
   * from the journal kept with the `history` option (an empty page without it).
   * `INSTANCE_NOT_FOUND` for an unknown ID; `limit` 1..1000, default 100.
   *
   * @example
   * ```ts
   * const { items, cursor } = await registry.history('order-7', { limit: 20 });
   * for (const e of items) console.log(e.seq, e.source, e.event.type, e.before, '→', e.after);
   * ```
   */
  history(id: string, options?: { cursor?: string | null; limit?: number }): Promise<HistoryPage> {
    return readHistory(this.#parts, id, options);
  }

  /**
   * Resolves with the status of `id` once it matches `condition`; rejects with
   * `TIMEOUT` after `timeoutMs` on the registry's clock, and with `ABORTED` once
   * `signal` aborts (an HTTP long poll passes its request's signal, so a client
   * that hangs up leaves no waiter behind).
   *
   * @example
   * ```ts
   * const { output } = await registry.waitFor('nightly', 'done', { timeoutMs: 60_000 });
   * await registry.waitFor('order-7', (s) => s.value === 'shipped');
   * ```
   */
  waitFor(
    id: string,
    condition: WaitCondition<StatusOf<M>>,
    options?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<StatusOf<M>>;
  waitFor<K extends TypeName<M>>(
    id: string,
    condition: WaitCondition<StatusOf<M, K>>,
    options: TypeOption<K> & { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<StatusOf<M, K>>;
  waitFor(
    id: string,
    condition: WaitCondition<any>,
    options?: { timeoutMs?: number; signal?: AbortSignal; type?: string },
  ): Promise<InstanceStatus> {
    // null reads as no options, as getStatus and send read it.
    return waitForInstance(this.#parts, id, condition, options ?? {});
  }
}
