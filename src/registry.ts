import { ActorHandle } from './actor-handle.js';
import type { Delivery } from './delivery.js';
import { assertInstanceId } from './instance-id.js';
import type { MachineMap } from './machines.js';
import { purgeInstance } from './purge-instance.js';
import { assembleRegistry } from './registry-assembly.js';
import {
  type RegistryOptions,
  resolveOptions,
  type SendOptions,
  type SingletonResult,
  type SpawnSingletonOptions,
} from './registry-options.js';
import { machineOf, type RegistryParts } from './registry-parts.js';
import type { Session } from './registry-session.js';
import { RegistryView } from './registry-view.js';
import type { StartSummary } from './restore.js';
import { sendTraced } from './send-event.js';
import type { EnsureResult } from './singleton.js';
import { ensureSingleton, spawnSingleton, spawnWithNewId } from './spawn.js';
import type { InstanceStatus } from './status.js';
import { stopInstance } from './stop-instance.js';
import { TelemetryHook } from './telemetry-hook.js';
import type { ActorOf, CreateArgs, EventOf, StatusOf, TypeName, TypeOption } from './types.js';

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
export class Registry<M extends MachineMap = MachineMap> extends RegistryView<M> {
  readonly #parts: RegistryParts;
  readonly #delivery: Delivery;
  readonly #session: Session;
  readonly #telemetry: TelemetryHook;

  constructor(options: RegistryOptions<M>) {
    const resolved = resolveOptions(options);
    const assembly = assembleRegistry(resolved);
    super(assembly.parts);
    this.#parts = assembly.parts;
    this.#delivery = assembly.delivery;
    this.#session = assembly.session;
    this.#telemetry = TelemetryHook.for(resolved.telemetry);
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

  /**
   * Returns the running actor for `id`, creating it if there is none. See {@link ensureSingleton}.
   *
   * With a cluster store, an instance another live process hosts stays there:
   * the actor returned is a stand-in whose `send` is forwarded to the owner
   * through the store's inbox, like `registry.send` (in call order; a send that
   * fails is reported as an `error` event naming the instance). Its
   * `getSnapshot()` is the last stored state, as of this call: it does not
   * follow the owner's changes, and `subscribe` hears nothing. Hold
   * `registry.actor(type, id)` (or `ensureSingleton`'s `handle`) to read the
   * current state or wait for one.
   *
   * @example
   * ```ts
   * const job = await registry.spawnSingleton('job', 'nightly');
   * job.send({ type: 'CANCEL' }); // delivered wherever the instance is hosted
   * ```
   */
  spawnSingleton<K extends TypeName<M>>(
    type: K,
    id: string,
    ...[options]: CreateArgs<M, K, SpawnSingletonOptions>
  ): Promise<ActorOf<M, K>> {
    const actor = spawnSingleton(this.#parts, this.#telemetry, type, id, options, this.#reach);
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
  ): Promise<SingletonResult<ActorOf<M, K>, ActorHandle<M, K>, StatusOf<M, K>>> {
    const result = ensureSingleton(
      this.#parts,
      this.#telemetry,
      type,
      id,
      options,
      this.#reach,
      (instanceId) => this.actor(type, instanceId),
    );
    return result as unknown as Promise<
      SingletonResult<ActorOf<M, K>, ActorHandle<M, K>, StatusOf<M, K>>
    >;
  }

  // Made once: a closure per spawnSingleton call would be an allocation on every spawn.
  readonly #reach = (r: EnsureResult): EnsureResult => this.#reachable(r);

  /** An instance hosted elsewhere: its stand-in's sends go through `send`, to the owner. */
  #reachable(r: EnsureResult): EnsureResult {
    if (r.elsewhere) {
      const id = r.instance.id;
      this.#parts.actors.forward(id, r.actor, (event) => this.send(id, event as EventOf<M>));
    }
    return r;
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
   * Stops the running instance `id` and records it as `stopped`. Stopping a
   * finished instance does nothing. With `type`, only an instance of that type
   * (`TYPE_MISMATCH` otherwise), as an `ActorHandle` does; not checked for an
   * instance another process hosts.
   */
  stop(id: string, reason?: string): Promise<StatusOf<M>>;
  stop<K extends TypeName<M>>(
    id: string,
    reason: string | undefined,
    options: TypeOption<K>,
  ): Promise<StatusOf<M, K>>;
  stop(id: string, reason?: string, options?: { type?: string }): Promise<InstanceStatus> {
    return stopInstance(this.#parts, id, reason, options?.type);
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
