import { nanoid } from 'nanoid';
import type { AnyActor, InspectionEvent, Observer } from 'xstate';
import { ActorHandle } from './actor-handle.js';
import { ActorHost } from './actor-host.js';
import { type Clock, systemClock } from './clock.js';
import { ClusterHosting } from './cluster.js';
import { isRegistryError, RegistryError } from './errors.js';
import { isEvent, isReservedEventType } from './event-shape.js';
import { type IdempotencyOptions, resolveIdempotency } from './idempotency.js';
import type { Instance } from './instance.js';
import { assertInstanceId } from './instance-id.js';
import { InstanceTable } from './instance-table.js';
import { InstanceWatchers } from './instance-watchers.js';
import type { ListFilter, ListPage } from './list-query.js';
import { type MachineMap, type ResolvedMachine, resolveMachines } from './machines.js';
import { Passivation } from './passivation.js';
import {
  deadlineOf,
  toPredicate,
  type WaitCondition,
  watchInstance,
  watchStored,
} from './wait-for.js';

export type { WaitCondition } from './wait-for.js';

import { Delivery } from './delivery.js';
import { decodeRecord } from './hydration.js';
import { Persister } from './persister.js';
import { RegistryEmitter, type RegistryEventName, type RegistryEvents } from './registry-events.js';
import { RegistryGate } from './registry-gate.js';
import { bringHere, machineOf, type RegistryParts, whenDurable } from './registry-parts.js';
import { Session } from './registry-session.js';
import { RemoteDelivery } from './remote-delivery.js';
import type { StartSummary } from './restore.js';
import { type EnsureResult, ensureSlowly } from './singleton.js';
import { type InstanceStatus, statusOf } from './status.js';
import { MemoryStore } from './stores/memory-store.js';
import { hasInbox, isClusterStore, type Store } from './stores/store.js';
import type { TypedRegistryEvents } from './typed-events.js';
import type { ActorOf, CreateArgs, EventOf, StatusOf, TypeName, TypeOption } from './types.js';

/**
 * When a change counts as done. `'relaxed'` (default): `send` resolves once the
 * actor has processed the event; the change is written shortly after, coalesced
 * with others, and `flush()` waits for it. `'strict'`: `send`, `spawnSingleton`,
 * `stop` resolve only once the resulting state is durable in the store.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ machines, durability: 'strict' });
 * ```
 */
export type Durability = 'relaxed' | 'strict';

/**
 * What {@link createRegistry} accepts.
 *
 * @example
 * ```ts
 * const options: RegistryOptions<typeof machines> = { machines, store: new FileStore({ dir: './data' }), idleTimeoutMs: 600_000 };
 * ```
 */
export interface RegistryOptions<M extends MachineMap> {
  /** Type name to machine. The type name is persisted; keep it stable. */
  machines: M;
  /** Where instances are kept. Default: a fresh in-memory store. */
  store?: Store;
  /** Drives every timer of every actor, and timestamps. Default: wall time. */
  clock?: Clock;
  durability?: Durability;
  /** Passed to every actor: XState inspection (e.g. the Stately inspector). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Passed to every actor as XState's `logger`; also where unheard registry errors go. */
  logger?: (...args: any[]) => void;
  /** Largest persisted record, in bytes. Default 16 MiB. */
  maxRecordBytes?: number;
  /** With strict durability: how many changes may wait for the store before `send` waits too. Default 10,000. */
  maxPendingWrites?: number;
  /**
   * Idle passivation: an actor with no activity for this long is persisted and
   * unloaded, and activated again on demand. Off (undefined) by default.
   */
  idleTimeoutMs?: number;
  /** With a cluster store (PostgreSQL): how often to look for instances whose owner died. Default 2,000 ms. */
  takeoverIntervalMs?: number;
  /**
   * Let `send` deliver XState's own event types (`xstate.*`), which stop actors,
   * fire timers early or forge failures. Default false: they throw `RESERVED_EVENT`.
   */
  allowReservedEvents?: boolean;
  /** How many idempotency keys each instance remembers, and for how long (see {@link SendOptions}). */
  idempotency?: IdempotencyOptions;
}

/**
 * Options of {@link Registry.send}.
 *
 * @example
 * ```ts
 * await registry.send('order-7', { type: 'PAY' }, { idempotencyKey: req.headers['idempotency-key'] });
 * ```
 */
export interface SendOptions {
  /**
   * Applies the event at most once per key and instance: a repeat within the
   * retention (`idempotency` option; default the last 100 keys, for 24 hours)
   * is not delivered again, and resolves like the first call once the state it
   * produced is durable (strict), so a client may retry a failed or lost answer.
   */
  idempotencyKey?: string;
}

/**
 * Options of {@link Registry.spawnSingleton} and {@link Registry.ensureSingleton}.
 * The machine's `input` is added to them, required when the machine requires it
 * (see `CreateArgs`); it is applied only by the call that creates the instance.
 *
 * @example
 * ```ts
 * await registry.spawnSingleton('job', 'nightly', { input: { day }, ifFinished: 'replace' });
 * ```
 */
export interface SpawnSingletonOptions {
  /** When the instance is running: return it (default) or throw `INSTANCE_EXISTS`. */
  ifRunning?: 'return' | 'throw';
  /** When it is done, failed or stopped: return it (default), replace it with a fresh actor, or throw `INSTANCE_EXISTS`. */
  ifFinished?: 'return' | 'replace' | 'throw';
}

/**
 * What {@link Registry.ensureSingleton} resolves to.
 *
 * @example
 * ```ts
 * const { actor, created, status } = await registry.ensureSingleton('job', 'nightly');
 * ```
 */
export interface SingletonResult<TActor> {
  actor: TActor;
  /** Whether this call created the actor (an HTTP layer answers 201 rather than 200). */
  created: boolean;
  status: InstanceStatus;
}

const RESOLVED: Promise<void> = Promise.resolve();

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
  readonly #machines: Map<string, ResolvedMachine>;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #durability: Durability;
  readonly #actorOptions: Record<string, unknown>;
  readonly #logger: (...args: any[]) => void;
  readonly #maxPending: number;
  readonly #allowReserved: boolean;
  /** Set by a failed store write, cleared once every change is durable again (for `health()`). */
  #storeFailing = false;
  readonly #instances: InstanceTable;
  readonly #gate = new RegistryGate();
  readonly #emitter: RegistryEmitter;
  readonly #persister: Persister;
  readonly #actors: ActorHost;
  readonly #passivation: Passivation | undefined;
  readonly #cluster: ClusterHosting | undefined;
  readonly #idempotency: Required<IdempotencyOptions>;
  readonly #parts: RegistryParts;
  readonly #delivery: Delivery;
  readonly #session: Session;
  readonly #remote: RemoteDelivery | undefined;
  readonly #watchers = new InstanceWatchers();

  constructor(options: RegistryOptions<M>) {
    if (!options || typeof options !== 'object') {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        'createRegistry needs an options object with `machines`.',
      );
    }
    this.#machines = resolveMachines(options.machines);
    this.#store = options.store ?? new MemoryStore();
    this.#clock = options.clock ?? systemClock;
    this.#durability = options.durability ?? 'relaxed';
    this.#allowReserved = options.allowReservedEvents === true;
    if (this.#durability !== 'relaxed' && this.#durability !== 'strict') {
      throw new RegistryError('INVALID_ARGUMENT', "durability must be 'relaxed' or 'strict'.");
    }
    this.#actorOptions = { clock: this.#clock };
    if (options.logger) this.#actorOptions.logger = options.logger;
    const userInspect = options.inspect;
    if (userInspect) {
      // XState calls inspectors inside transitions: one that throws must not break the actor.
      this.#actorOptions.inspect = (event: InspectionEvent) => {
        try {
          if (typeof userInspect === 'function') userInspect(event);
          else userInspect.next?.(event);
        } catch (err) {
          this.#emitter.emit(
            'error',
            new RegistryError('LISTENER_FAILED', 'The inspect observer threw; fix the observer.', {
              cause: err,
            }),
          );
        }
      };
    }
    this.#logger = options.logger ?? console.error.bind(console);
    this.#maxPending = options.maxPendingWrites ?? 10_000;
    this.#idempotency = resolveIdempotency(
      options.idempotency,
      options.maxRecordBytes ?? 16 * 1024 * 1024,
    );
    this.#emitter = new RegistryEmitter((err) => this.#logger('[xstate-registry]', err));
    this.#persister = new Persister({
      store: this.#store,
      maxRecordBytes: options.maxRecordBytes ?? 16 * 1024 * 1024,
      report: (err) => {
        // A fenced write means another process owns the instance now: stop our copy.
        if (isRegistryError(err, 'FENCED'))
          this.#cluster?.lost(err.details.id, 'a write was fenced');
        if (err.code === 'PERSIST_FAILED') this.#storeFailing = true;
        this.#emitter.emit('error', err);
      },
      onProgress: () => {
        if (this.#persister.backlog === 0) this.#storeFailing = false;
        this.#delivery.release();
      },
    });
    this.#instances = new InstanceTable({
      clock: this.#clock,
      writes: this.#persister,
      watchers: this.#watchers,
    });
    this.#actors = new ActorHost({
      clock: this.#clock,
      actorOptions: this.#actorOptions,
      emitter: this.#emitter,
      changed: (instance) => this.#instances.changed(instance),
    });
    const idle = options.idleTimeoutMs;
    if (idle !== undefined && !(Number.isFinite(idle) && idle > 0)) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        'idleTimeoutMs must be a positive number of milliseconds.',
      );
    }
    this.#passivation =
      idle === undefined
        ? undefined
        : new Passivation({
            idleTimeoutMs: idle,
            clock: this.#clock,
            instances: this.#instances,
            machines: this.#machines,
            store: this.#store,
            persister: this.#persister,
            actors: this.#actors,
            emitter: this.#emitter,
            exclusive: (id, fn) => this.#gate.exclusive(id, fn),
            isLocked: (id) => this.#gate.locks.isLocked(id),
          });
    this.#cluster = isClusterStore(this.#store)
      ? new ClusterHosting({
          store: this.#store,
          clock: this.#clock,
          instances: this.#instances,
          machines: this.#machines,
          persister: this.#persister,
          actors: this.#actors,
          emitter: this.#emitter,
          exclusive: (id, fn) => this.#gate.exclusive(id, fn),
          sweepIntervalMs: options.takeoverIntervalMs ?? 2000,
          ...(hasInbox(this.#store)
            ? {
                mail: {
                  start: () => this.#remote?.start(),
                  stop: () => this.#remote?.stop(),
                  drainHere: (id: string) => this.#remote?.drainHere(id) ?? RESOLVED,
                  sweep: () => this.#remote?.sweep() ?? RESOLVED,
                },
              }
            : {}),
        })
      : undefined;
    if (this.#cluster) this.#instances.useLeases(this.#cluster);
    const parts: RegistryParts = {
      gate: this.#gate,
      instances: this.#instances,
      persister: this.#persister,
      actors: this.#actors,
      emitter: this.#emitter,
      clock: this.#clock,
      store: this.#store,
      machines: this.#machines,
      durability: this.#durability,
      idempotency: this.#idempotency,
      allowReserved: this.#allowReserved,
      cluster: this.#cluster,
      passivation: this.#passivation,
      watchers: this.#watchers,
      remote: undefined,
    };
    const store = this.#store;
    const cluster = this.#cluster;
    this.#remote =
      cluster && hasInbox(store)
        ? new RemoteDelivery({
            parts,
            inbox: store.inbox,
            stopHere: async (id, reason) => this.#stopHere(id, reason),
            purgeHere: (id) => this.#purgeHere(id, true),
            takeOver: () => cluster.takeOver(),
          })
        : undefined;
    this.#parts = { ...parts, remote: this.#remote };
    this.#delivery = new Delivery(this.#parts, this.#maxPending);
    this.#session = new Session(this.#parts, this.#delivery);
  }

  /** The clock every actor of this registry runs on. */
  get clock(): Clock {
    return this.#clock;
  }

  /**
   * Subscribes to a lifecycle event. A listener that throws is reported, never
   * propagated. Payloads are unions discriminated on `type` (see {@link TypedRegistryEvents}).
   */
  on<E extends RegistryEventName>(
    name: E,
    listener: (payload: TypedRegistryEvents<M>[E]) => void,
  ): this {
    this.#emitter.on(name, listener as (payload: RegistryEvents[E]) => void);
    return this;
  }

  /** Subscribes for one occurrence. */
  once<E extends RegistryEventName>(
    name: E,
    listener: (payload: TypedRegistryEvents<M>[E]) => void,
  ): this {
    this.#emitter.on(name, listener as (payload: RegistryEvents[E]) => void, true);
    return this;
  }

  off<E extends RegistryEventName>(
    name: E,
    listener: (payload: TypedRegistryEvents<M>[E]) => void,
  ): this {
    this.#emitter.off(name, listener as (payload: RegistryEvents[E]) => void);
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
    machineOf(this.#machines, type);
    assertInstanceId(id);
    return new ActorHandle<M, K>(this, this.#watchers, type, id, (err) =>
      this.#emitter.emit('error', err),
    );
  }

  /**
   * Opens the store and resumes every running instance it holds, timers included.
   * Resolves to a summary, with every record that could not be loaded (each one
   * moved aside and reported). Calls made while it runs wait for it.
   */
  start(): Promise<StartSummary> {
    return this.#session.start();
  }

  /** Returns the running actor for `id`, creating it if there is none. See {@link ensureSingleton}. */
  spawnSingleton<K extends TypeName<M>>(
    type: K,
    id: string,
    ...[options]: CreateArgs<M, K, SpawnSingletonOptions>
  ): Promise<ActorOf<M, K>> {
    try {
      const r = this.#ensure(type, id, options ?? {});
      // Hot path: a result known now costs one promise, not two.
      return r instanceof Promise
        ? r.then((x) => x.actor as ActorOf<M, K>)
        : Promise.resolve(r.actor as ActorOf<M, K>);
    } catch (err) {
      return Promise.reject(err);
    }
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
    let pending: EnsureResult | Promise<EnsureResult>;
    try {
      pending = this.#ensure(type, id, options ?? {});
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve(pending).then((r) => ({
      actor: r.actor as ActorOf<M, K>,
      created: r.created,
      status: statusOf(r.instance),
    }));
  }

  /**
   * Check-and-create. Everything between the check and the creation is
   * synchronous, so it is atomic on Node's event loop; an ID with an operation
   * in flight (a purge awaiting the store) queues behind it on the ID's lock.
   */
  #ensure(
    type: string,
    id: string,
    options: SpawnSingletonOptions & { input?: unknown },
  ): EnsureResult | Promise<EnsureResult> {
    const existing = this.#instances.get(id);
    // Fast path: the live instance, nothing in flight for it.
    if (
      existing?.actor &&
      existing.status === 'running' &&
      existing.type === type &&
      this.#gate.phase === 'open' &&
      (options.ifRunning === undefined || options.ifRunning === 'return') &&
      !this.#gate.locks.isLocked(id) &&
      (this.#durability === 'relaxed' || existing.durable >= existing.version)
    ) {
      // Activity for passivation, like every other use (a number store: no allocation).
      if (this.#passivation) existing.lastActive = this.#clock.now();
      return { actor: existing.actor, created: false, instance: existing };
    }
    return ensureSlowly(this.#parts, type, id, options, existing);
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
  async spawn<K extends TypeName<M>>(
    type: K,
    ...[options]: CreateArgs<M, K, object>
  ): Promise<ActorOf<M, K>> {
    const r = await this.#ensure(type, nanoid(), {
      input: options?.input,
      ifRunning: 'throw',
      ifFinished: 'throw',
    });
    return r.actor as ActorOf<M, K>;
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
  stats(): {
    instances: number;
    live: number;
    passive: number;
    pendingWrites: number;
    waiters: number;
  } {
    let live = 0;
    let passive = 0;
    let waiters = 0;
    for (const instance of this.#instances.values()) {
      waiters += instance.waiters?.size ?? 0;
      if (instance.passive) passive++;
      else if (instance.status === 'running' && instance.actor) live++;
    }
    return {
      instances: this.#instances.size,
      live,
      passive,
      pendingWrites: this.#persister.queued,
      waiters,
    };
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
    return { open: this.#gate.phase === 'open', storeFailing: this.#storeFailing };
  }

  /** The live, running actor for `id`, or `undefined`. Synchronous. */
  get(id: string): AnyActor | undefined {
    const instance = this.#instances.get(id);
    return instance?.status === 'running' ? instance.actor : undefined;
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
  async getStatus(id: string, options?: TypeOption<string>): Promise<InstanceStatus | undefined> {
    assertInstanceId(id);
    if (options !== undefined) machineOf(this.#machines, options.type);
    await this.#gate.ready();
    const instance = this.#instances.get(id);
    const status =
      !instance && this.#cluster
        ? await this.#cluster.remoteStatus(id)
        : instance && (await this.#status(instance));
    if (status && options) assertType(id, status.type, options.type);
    return status;
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
  async list(filter: ListFilter = {}): Promise<ListPage<InstanceStatus>> {
    await this.#gate.ready();
    if (this.#cluster) return this.#cluster.list(filter, (i) => this.#status(i));
    const page = this.#instances.page(filter);
    const result: ListPage<InstanceStatus> = {
      items: await Promise.all(page.items.map((i) => this.#status(i))),
    };
    if (page.cursor) result.cursor = page.cursor;
    return result;
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
    // Fast path (relaxed durability, nothing in flight for the ID): deliver now.
    const instance = this.#instances.get(id);
    if (
      options?.idempotencyKey === undefined &&
      instance?.actor &&
      instance.status === 'running' &&
      this.#gate.phase === 'open' &&
      this.#durability === 'relaxed' &&
      isEvent(event) &&
      (this.#allowReserved || !isReservedEventType(event.type)) &&
      !this.#gate.locks.isLocked(id)
    ) {
      if (this.#passivation) instance.lastActive = this.#clock.now();
      instance.actor.send(event);
      return RESOLVED;
    }
    return this.#delivery.send(id, event, options?.idempotencyKey);
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
  async waitFor(
    id: string,
    condition: WaitCondition<any>,
    options: { timeoutMs?: number; signal?: AbortSignal; type?: string } = {},
  ): Promise<InstanceStatus> {
    assertInstanceId(id);
    if (options.type !== undefined) machineOf(this.#machines, options.type);
    const test = toPredicate(condition);
    // The timeout counts from the call, not from when the registry got round to it.
    const deadline = deadlineOf(this.#clock, options.timeoutMs);
    await this.#gate.ready();
    // A passivated instance changes only while live: activate it to watch it.
    if (this.#instances.get(id)?.passive || (this.#cluster && !this.#instances.has(id))) {
      const here = await this.#gate.exclusive(id, () => this.#reach(id));
      if (!here)
        return watchStored(id, (done) => this.#elsewhere(id, done), test, {
          clock: this.#clock,
          deadline,
          signal: options.signal,
          type: options.type,
        });
    }
    const instance = this.#instances.get(id);
    if (!instance) {
      throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to wait for.`, {
        details: { id },
      });
    }
    if (options.type !== undefined) assertType(id, instance.type, options.type);
    return watchInstance(instance, test, {
      clock: this.#clock,
      deadline,
      signal: options.signal,
      closed: () => (this.#gate.isClosing ? this.#gate.closedError() : undefined),
    });
  }

  /** Stops the running instance `id` and records it as `stopped`. Stopping a finished instance does nothing. */
  async stop(id: string, reason?: string): Promise<InstanceStatus> {
    assertInstanceId(id);
    await this.#gate.ready();
    const here = await this.#gate.exclusive(id, async () => {
      this.#gate.assertOpen();
      if (await this.#reach(id)) return this.#stopHere(id, reason);
      await this.#remote?.post(id, { kind: 'stop', reason });
      return undefined;
    });
    if (here) return here;
    // Mailed to its owner: answer once the stop (or another ending) is recorded.
    const status = await this.#elsewhere(id, (s) => s === undefined || s.status !== 'running');
    if (!status)
      throw new RegistryError('INSTANCE_NOT_FOUND', `Instance '${id}' was purged meanwhile.`, {
        details: { id },
      });
    return status;
  }

  /** `stop()` of an instance this process hosts; the caller holds its lock. */
  #stopHere(id: string, reason: string | undefined): InstanceStatus | Promise<InstanceStatus> {
    const instance = this.#instances.get(id);
    if (!instance)
      throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to stop.`, {
        details: { id },
      });
    if (instance.status !== 'running') return statusOf(instance);
    this.#actors.detach(instance, false);
    instance.status = 'stopped';
    instance.stopReason = reason;
    this.#instances.changed(instance);
    this.#emitter.emit('stopped', { id, type: instance.type, reason });
    return whenDurable(this.#parts, instance, () => statusOf(instance));
  }

  /** Forgets a finished instance entirely, in memory and in the store. A running one only with `{ force: true }`. */
  async purge(id: string, options: { force?: boolean } = {}): Promise<void> {
    assertInstanceId(id);
    await this.#gate.ready();
    for (;;) {
      const outcome = await this.#gate.exclusive(id, async () => {
        this.#gate.assertOpen();
        if (await this.#reach(id, true)) {
          await this.#purgeHere(id, options.force === true);
          return 'done';
        }
        const there = await this.#cluster?.remoteStatus(id);
        if (there?.status !== 'running') return 'retry'; // being finished there: nobody's soon
        if (!options.force) throw running(id);
        await this.#remote?.post(id, { kind: 'purge' });
        return 'posted';
      });
      if (outcome === 'done') return;
      if (outcome === 'posted') {
        await this.#elsewhere(id, (s) => s === undefined);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** `purge()` of an instance this process holds; the caller holds its lock. */
  async #purgeHere(id: string, force: boolean): Promise<void> {
    const instance = this.#instances.get(id);
    if (!instance)
      throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to purge.`, {
        details: { id },
      });
    if (instance.status === 'running') {
      if (!force) throw running(id);
      this.#actors.detach(instance, false);
    }
    // Purged here, or fenced by the store (another process owns it now): gone from this process either way.
    this.#instances.drop(instance);
    await this.#persister.remove(instance);
    this.#watchers.gone(
      id,
      new RegistryError('INSTANCE_NOT_FOUND', `Instance '${id}' was purged.`, {
        details: { id },
      }),
    );
    this.#emitter.emit('purged', { id, type: instance.type });
  }

  /** Resolves once every change made before the call is durable in the store. */
  async flush(): Promise<void> {
    await this.#gate.ready();
    await this.#persister.flush();
  }

  /**
   * Stops hosting every actor without marking any of them stopped, writes their
   * last state, and releases the store: a later `start()` on the same store
   * resumes them all. Calls made after it began reject with `REGISTRY_CLOSED`.
   */
  close(): Promise<void> {
    return this.#session.close();
  }

  // ---- internals ----

  /**
   * Under the ID's lock: makes `id` local (adopting or activating it) and says
   * so; `false` when another live process hosts it and the call can be mailed
   * there. `adoptOnly` claims without activating a passivated instance (purge).
   */
  async #reach(id: string, adoptOnly = false): Promise<boolean> {
    try {
      if (adoptOnly) await this.#cluster?.adopt(id, false);
      else await bringHere(this.#parts, id, false);
      return true;
    } catch (err) {
      if (this.#remote && isRegistryError(err, 'OWNED_ELSEWHERE')) return false;
      throw err;
    }
  }

  /** Polls the stored status of an instance hosted elsewhere until `done` holds. */
  #elsewhere(
    id: string,
    done: (s: InstanceStatus | undefined) => boolean,
  ): Promise<InstanceStatus | undefined> {
    const cluster = this.#cluster as ClusterHosting;
    return (this.#remote as RemoteDelivery).until(() => cluster.remoteStatus(id), done);
  }

  /** The status, reading a passivated instance's record back from the store rather than activating it. */
  async #status(instance: Instance): Promise<InstanceStatus> {
    if (!instance.passive || instance.frozen) return statusOf(instance);
    const text = await this.#store.read(instance.id);
    return statusOf(
      instance,
      text === undefined ? undefined : decodeRecord(text, this.#machines).snapshot,
    );
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

function running(id: string): RegistryError {
  return new RegistryError(
    'INSTANCE_RUNNING',
    `Instance '${id}' is running; stop it first or purge with { force: true }.`,
    { details: { id } },
  );
}

function assertType(id: string, actual: string, expected: string): void {
  if (actual !== expected) {
    throw new RegistryError(
      'TYPE_MISMATCH',
      `Instance '${id}' has type '${actual}', not '${expected}'; name its own type.`,
      { details: { id, type: expected, existingType: actual } },
    );
  }
}
