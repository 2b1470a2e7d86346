import type { AnyActor } from 'xstate';
import { ActorHandle } from './actor-handle.js';
import type { Clock } from './clock.js';
import type { Delivery } from './delivery.js';
import type { HistoryPage } from './history.js';
import { readHistory } from './history-query.js';
import { assertInstanceId } from './instance-id.js';
import type { CountFilter } from './instance-index.js';
import type { ListFilter, ListPage } from './list-query.js';
import type { MachineMap } from './machines.js';
import { purgeInstance } from './purge-instance.js';
import { listQuarantined, listStatuses, liveActor, readStatus } from './read-status.js';
import { assembleRegistry } from './registry-assembly.js';
import type { RegistryEventName, RegistryEvents } from './registry-events.js';
import {
  type RegistryOptions,
  resolveOptions,
  type SendOptions,
  type SingletonResult,
  type SpawnSingletonOptions,
} from './registry-options.js';
import { machineOf, type RegistryParts } from './registry-parts.js';
import type { Session } from './registry-session.js';
import {
  countStatuses,
  type RegistryStats,
  registryHealth,
  registryStats,
} from './registry-stats.js';
import type { StartSummary } from './restore.js';
import { sendTraced } from './send-event.js';
import { ensureSingleton, spawnSingleton, spawnWithNewId } from './spawn.js';
import type { InstanceStatus } from './status.js';
import type { StatusCounts } from './status-tally.js';
import { stopInstance } from './stop-instance.js';
import type { SetAsideRecord } from './stores/store.js';
import { TelemetryHook } from './telemetry-hook.js';
import type { TypedRegistryEvents } from './typed-events.js';
import type { ActorOf, CreateArgs, EventOf, StatusOf, TypeName, TypeOption } from './types.js';
import type { WaitCondition } from './wait-for.js';
import { waitForInstance } from './wait-for-instance.js';

export type {
  Durability,
  RegistryOptions,
  SendOptions,
  SingletonResult,
  SpawnSingletonOptions,
} from './registry-options.js';
export type { WaitCondition } from './wait-for.js';

/**
 * Hosts live XState actors by instance ID, at most one per ID, and keeps them in a
 * store so that a restart resumes them. Create one with {@link createRegistry}.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ machines: { job } });
 * await registry.start();
 * await registry.spawnSingleton('job', 'nightly');
 * await registry.send('nightly', { type: 'CANCEL' });
 * console.log(await registry.getStatus('nightly'));
 * await registry.close();
 * ```
 */
export class Registry<M extends MachineMap = MachineMap> {
  readonly #parts: RegistryParts;
  readonly #delivery: Delivery;
  readonly #session: Session;
  readonly #telemetry: TelemetryHook;

  constructor(options: RegistryOptions<M>) {
    const resolved = resolveOptions(options);
    const assembly = assembleRegistry(resolved);
    this.#parts = assembly.parts;
    this.#delivery = assembly.delivery;
    this.#session = assembly.session;
    this.#telemetry = new TelemetryHook(resolved.telemetry);
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
   * A stable handle on instance `id` of type `type`, typed from its machine:
   * what long-lived code should hold (see {@link ActorHandle}). It resolves the
   * instance by ID on every call, so it survives passivation, takeover and
   * replacement. Creates nothing: the instance may be created before or after.
   *
   * @example
   * ```ts
   * const job = registry.actor('job', 'nightly');
   * await job.send({ type: 'CANCEL' });
   * ```
   */
  actor<K extends TypeName<M>>(type: K, id: string): ActorHandle<M, K> {
    machineOf(this.#parts.machines, type);
    assertInstanceId(id);
    return new ActorHandle<M, K>(this, this.#parts.watchers, type, id, this.#parts.emitter);
  }

  /**
   * Opens the store and resumes every running instance it holds, timers included.
   * Resolves to a summary, with every record that could not be loaded (each one
   * moved aside and reported). Calls made while it runs wait for it.
   */
  start(): Promise<StartSummary> {
    if (this.#telemetry.pending)
      return this.#telemetry.load(this.#parts).then(() => this.#session.start());
    return this.#session.start();
  }

  /** Returns the running actor for `id`, creating it if there is none. See {@link ensureSingleton}. */
  spawnSingleton<K extends TypeName<M>>(
    type: K,
    id: string,
    ...[options]: CreateArgs<M, K, SpawnSingletonOptions>
  ): Promise<ActorOf<M, K>> {
    const actor = spawnSingleton(this.#parts, this.#telemetry, type, id, options);
    return actor as Promise<ActorOf<M, K>>;
  }

  /**
   * The atomic check-and-create behind {@link spawnSingleton}, which also tells
   * whether this call created the instance. Any number of concurrent calls for
   * one ID get one actor; calls for different IDs never wait on each other.
   *
   * @example
   * ```ts
   * const { actor, created } = await registry.ensureSingleton('job', 'nightly-report', { input: { day } });
   * return new Response(null, { status: created ? 201 : 200 });
   * ```
   */
  ensureSingleton<K extends TypeName<M>>(
    type: K,
    id: string,
    ...[options]: CreateArgs<M, K, SpawnSingletonOptions>
  ): Promise<SingletonResult<ActorOf<M, K>>> {
    const result = ensureSingleton(this.#parts, this.#telemetry, type, id, options);
    return result as Promise<SingletonResult<ActorOf<M, K>>>;
  }

  /**
   * Creates an instance under a new, generated ID (nanoid).
   *
   * @example
   * ```ts
   * const actor = await registry.spawn('session', { input: { user } });
   * console.log(actor.id); // 'V1StGXR8_Z5jdHi6B-myT'
   * ```
   */
  spawn<K extends TypeName<M>>(
    type: K,
    ...[options]: CreateArgs<M, K, object>
  ): Promise<ActorOf<M, K>> {
    const actor = spawnWithNewId(this.#parts, this.#telemetry, type, options?.input);
    return actor as Promise<ActorOf<M, K>>;
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
   * The records the store set aside (quarantined) because they could not be
   * loaded, newest first; `undefined` when the store cannot list them. Restore
   * one with the store's `restoreSetAside(key)` (CLI: `quarantine restore KEY`)
   * once its cause is fixed; it is loaded at the next start.
   *
   * @example
   * ```ts
   * for (const r of (await registry.quarantined()) ?? []) console.warn(r.key, r.id, r.reason);
   * ```
   */
  quarantined(): Promise<SetAsideRecord[] | undefined> {
    return listQuarantined(this.#parts);
  }

  /**
   * Delivers an event to the running instance `id`. Resolves once the actor has
   * processed it (and, with strict durability, once the result is durable).
   * With an `idempotencyKey`, an event already applied under that key is not
   * applied again (see {@link SendOptions}).
   *
   * @example
   * ```ts
   * await registry.send('order-7', { type: 'PAY', amount: 30 }, { idempotencyKey: requestId });
   * ```
   */
  send(id: string, event: EventOf<M>, options?: SendOptions): Promise<void> {
    return sendTraced(this.#parts, this.#delivery, this.#telemetry, id, event, options);
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
    options: { timeoutMs?: number; signal?: AbortSignal; type?: string } = {},
  ): Promise<InstanceStatus> {
    return waitForInstance(this.#parts, id, condition, options);
  }

  /** Stops the running instance `id` and records it as `stopped`. Stopping a finished instance does nothing. */
  stop(id: string, reason?: string): Promise<InstanceStatus> {
    return stopInstance(this.#parts, id, reason);
  }

  /** Forgets a finished instance entirely, in memory and in the store. A running one only with `{ force: true }`. */
  purge(id: string, options: { force?: boolean } = {}): Promise<void> {
    return purgeInstance(this.#parts, id, options);
  }

  /** Resolves once every change made before the call is durable in the store. */
  async flush(): Promise<void> {
    await this.#parts.gate.ready();
    await this.#parts.persister.flush();
  }

  /**
   * Stops hosting every actor without marking any of them stopped, writes their
   * last state, and releases the store: a later `start()` on the same store
   * resumes them all. Calls made after it began reject with `REGISTRY_CLOSED`.
   */
  close(): Promise<void> {
    return this.#session.close();
  }
}

/**
 * Creates a registry. Call `await registry.start()` before using it.
 *
 * @example
 * ```ts
 * import { createRegistry, FileStore } from 'xstate-registry';
 *
 * const registry = createRegistry({ machines: { job: jobMachine }, store: new FileStore({ dir: './data' }) });
 * await registry.start();
 * const actor = await registry.spawnSingleton('job', 'nightly-report', { input: { day: '2026-11-27' } });
 * ```
 */
export function createRegistry<M extends MachineMap>(options: RegistryOptions<M>): Registry<M> {
  return new Registry(options);
}
