import { RegistryError } from './errors.js';
import type { InstanceWatchers } from './instance-watchers.js';
import type { MachineMap } from './machines.js';
import type { RegistryEmitter } from './registry-events.js';
import type { InstanceStatus } from './status.js';
import type { EventOf, StatusOf, TypeName } from './types.js';
import type { WaitCondition } from './wait-for.js';

/**
 * What a handle needs of its registry: the public calls by ID, and the
 * per-ID watchers behind `subscribe`. Declared here, not imported, so the
 * handle does not import the registry.
 */
export interface HandleTarget {
  send(id: string, event: any, options: { idempotencyKey?: string; type: string }): Promise<void>;
  getStatus(id: string, options: { type: string }): Promise<InstanceStatus | undefined>;
  waitFor(
    id: string,
    condition: any,
    options: { type: string; timeoutMs?: number; signal?: AbortSignal },
  ): Promise<InstanceStatus>;
  stop(id: string, reason: string | undefined, options: { type: string }): Promise<InstanceStatus>;
}

/**
 * What `subscribe` calls: `next` on every change, `error` once the instance is purged, `complete` when the registry closes.
 *
 * @example
 * ```ts
 * registry.actor('job', 'j1').subscribe({ next: (s) => console.log(s.value), error: (err) => console.log(err.code) });
 * ```
 */
export interface HandleObserver<S> {
  next?: (status: S) => void;
  error?: (err: RegistryError) => void;
  complete?: () => void;
}

/**
 * Ends a subscription.
 *
 * @example
 * ```ts
 * const sub = registry.actor('job', 'j1').subscribe((s) => console.log(s.value));
 * sub.unsubscribe();
 * ```
 */
export interface HandleSubscription {
  unsubscribe(): void;
}

/**
 * A stable, typed reference to one instance, for code that holds on to an
 * instance for long: unlike the XState `Actor` that `spawnSingleton` returns,
 * it addresses the instance by ID on every call, so it keeps working when the
 * instance is passivated and activated, taken over by another process, or
 * replaced (`ifFinished: 'replace'`). Once the instance is purged, every call
 * rejects with `INSTANCE_NOT_FOUND`. Get one with `registry.actor(type, id)`.
 *
 * @example
 * ```ts
 * const order = registry.actor('order', 'order-7');
 * await order.send({ type: 'PAY', amount: 30 });   // typed from the order machine
 * const { context } = await order.getSnapshot();  // context typed too
 * await order.waitFor((s) => s.value === 'shipped', { timeoutMs: 60_000 });
 * ```
 */
export class ActorHandle<M extends MachineMap = MachineMap, K extends TypeName<M> = TypeName<M>> {
  readonly id: string;
  readonly type: K;
  readonly #target: HandleTarget;
  readonly #watchers: InstanceWatchers;
  readonly #emitter: Pick<RegistryEmitter, 'emit'>;

  /** Internal: use `registry.actor(type, id)`. */
  constructor(
    target: HandleTarget,
    watchers: InstanceWatchers,
    type: K,
    id: string,
    emitter: Pick<RegistryEmitter, 'emit'>,
  ) {
    this.#target = target;
    this.#watchers = watchers;
    this.type = type;
    this.id = id;
    this.#emitter = emitter;
  }

  /** Delivers `event` to the instance, wherever it lives now (see `registry.send`). */
  send(event: EventOf<M, K>, options?: { idempotencyKey?: string }): Promise<void> {
    return this.#target.send(this.id, event, { ...options, type: this.type });
  }

  /**
   * The instance's current status (a JSON copy, typed from the machine); a
   * passivated instance is read from the store, not activated.
   */
  async getSnapshot(): Promise<StatusOf<M, K>> {
    const status = await this.#target.getStatus(this.id, { type: this.type });
    if (!status) throw notFound(this.id);
    return status as StatusOf<M, K>;
  }

  /**
   * Calls `observer` with the status after every change this process makes to
   * the instance, across passivation and replacement; `error` once it is
   * purged; `complete` when the registry closes (at once if it has closed
   * already: nothing will change again). An observer that throws is
   * reported as an `error` event of the registry.
   */
  subscribe(
    observer: HandleObserver<StatusOf<M, K>> | ((status: StatusOf<M, K>) => void),
  ): HandleSubscription {
    // Checked here: a null observer was read on the instance's next change,
    // inside XState's processing, which threw at that send and left the
    // actor's mailbox stuck (later sends resolved, unapplied).
    if (typeof observer !== 'function' && (typeof observer !== 'object' || observer === null)) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        'subscribe takes a function or an observer object ({ next, error, complete }).',
        { details: { id: this.id } },
      );
    }
    const o = typeof observer === 'function' ? { next: observer } : observer;
    const guard = (fn: () => void) => {
      try {
        fn();
      } catch (cause) {
        this.#emitter.emit(
          'error',
          new RegistryError(
            'LISTENER_FAILED',
            `A subscriber of instance '${this.id}' threw; the instance carries on. Fix the subscriber.`,
            { cause, details: { id: this.id } },
          ),
        );
      }
    };
    const unsubscribe = this.#watchers.add(this.id, {
      // An instance of another type under the ID (created after a purge) is not this handle's.
      changed: (status) =>
        status.type === this.type && o.next && guard(() => o.next?.(status as StatusOf<M, K>)),
      gone: (err) => o.error && guard(() => o.error?.(err)),
      closed: () => o.complete && guard(() => o.complete?.()),
    });
    return { unsubscribe };
  }

  /** Resolves once the status matches `condition` (see `registry.waitFor`). */
  waitFor(
    condition: WaitCondition<StatusOf<M, K>>,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<StatusOf<M, K>> {
    return this.#target.waitFor(this.id, condition, { ...options, type: this.type }) as Promise<
      StatusOf<M, K>
    >;
  }

  /** Stops the instance and records it as `stopped` (see `registry.stop`). */
  stop(reason?: string): Promise<StatusOf<M, K>> {
    return this.#target.stop(this.id, reason, { type: this.type }) as Promise<StatusOf<M, K>>;
  }
}

function notFound(id: string): RegistryError {
  return new RegistryError(
    'INSTANCE_NOT_FOUND',
    `No instance '${id}'; it was purged or never created. Create it with spawnSingleton.`,
    { details: { id } },
  );
}
