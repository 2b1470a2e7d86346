import { EventEmitter } from 'eventemitter3';
import type { AnyActor, AnyEventObject } from 'xstate';
import { RegistryError, type SerializedError } from './errors.js';

/**
 * The registry's lifecycle events and their payloads.
 *
 * @example
 * ```ts
 * registry.on('failed', ({ id, error }) => log.warn({ id, error }, 'actor failed'));
 * registry.on('error', (err) => log.error(err)); // persistence faults, throwing listeners, bad records
 * ```
 */
export interface RegistryEvents {
  /** A new actor was created (`replaced`: it took the place of a finished one under the same ID). */
  spawned: { id: string; type: string; actor: AnyActor; replaced: boolean };
  /** `start()` brought a stored running instance back to life. */
  restored: { id: string; type: string; actor: AnyActor };
  /** The root actor processed an event. */
  transition: { id: string; type: string; snapshot: unknown; event: AnyEventObject };
  done: { id: string; type: string; output: unknown };
  failed: { id: string; type: string; error: SerializedError };
  stopped: { id: string; type: string; reason: string | undefined };
  purged: { id: string; type: string };
  /** Idle passivation unloaded the actor; it stays addressable and is activated on demand. */
  passivated: { id: string; type: string };
  /** A passivated instance was loaded again (an event, a spawnSingleton, a waitFor, a timer). */
  activated: { id: string; type: string; actor: AnyActor };
  /** With a cluster store: another process now owns this instance; this process stopped its copy. */
  lost: { id: string; type: string };
  /** A stored record could not be loaded and was moved aside. */
  quarantined: { key: string; id: string | undefined; error: RegistryError };
  /** Something went wrong that no caller is waiting on: a write fault, a throwing listener. */
  error: RegistryError;
}

/**
 * The name of a lifecycle event.
 *
 * @example
 * ```ts
 * const name: RegistryEventName = 'transition';
 * ```
 */
export type RegistryEventName = keyof RegistryEvents;
type AnyFn = (...args: any[]) => void;
type Listener<K extends RegistryEventName> = (payload: RegistryEvents[K]) => void;

/**
 * eventemitter3 with one difference: a listener that throws is reported as an
 * `error` event (code `LISTENER_FAILED`) and never reaches the registry or the
 * actor whose change triggered it.
 */
export class RegistryEmitter {
  readonly #ee = new EventEmitter();
  readonly #wrapped = new Map<string, Map<AnyFn, AnyFn[]>>();
  readonly #fallback: (err: RegistryError) => void;

  constructor(fallback: (err: RegistryError) => void) {
    this.#fallback = fallback;
  }

  on<K extends RegistryEventName>(name: K, fn: Listener<K>, once = false): void {
    const wrapped = (payload: RegistryEvents[K]) => {
      if (once) this.#forget(name, fn, wrapped);
      try {
        fn(payload);
      } catch (err) {
        const error = new RegistryError(
          'LISTENER_FAILED',
          `A '${name}' listener threw; the registry and its actors carry on. Fix the listener.`,
          { cause: err, details: { event: name } },
        );
        if (name === 'error') this.#fallback(error);
        else this.emit('error', error);
      }
    };
    const byFn = this.#wrapped.get(name) ?? new Map<AnyFn, AnyFn[]>();
    this.#wrapped.set(name, byFn);
    byFn.set(fn, [...(byFn.get(fn) ?? []), wrapped]);
    this.#ee.on(name, wrapped);
  }

  off<K extends RegistryEventName>(name: K, fn: Listener<K>): void {
    const list = this.#wrapped.get(name)?.get(fn);
    const wrapped = list?.[list.length - 1];
    if (wrapped) this.#forget(name, fn, wrapped);
  }

  #forget(name: string, fn: AnyFn, wrapped: AnyFn): void {
    const byFn = this.#wrapped.get(name);
    const list = byFn?.get(fn)?.filter((w) => w !== wrapped) ?? [];
    if (list.length) byFn?.set(fn, list);
    else byFn?.delete(fn);
    this.#ee.off(name, wrapped);
  }

  has(name: RegistryEventName): boolean {
    return this.#ee.listenerCount(name) > 0;
  }

  emit<K extends RegistryEventName>(name: K, payload: RegistryEvents[K]): void {
    if (name === 'error' && !this.has('error')) {
      this.#fallback(payload as RegistryError);
      return;
    }
    this.#ee.emit(name, payload);
  }

  removeAll(): void {
    this.#ee.removeAllListeners();
    this.#wrapped.clear();
  }
}
