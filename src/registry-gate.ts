import { RegistryError } from './errors.js';
import { KeyedMutex } from './keyed-mutex.js';

/**
 * The registry's own life: `new` → `starting` → `open` → `closing` → `closed`;
 * a failed start goes back to `new`, so it may be tried again.
 *
 * @example
 * ```ts
 * if (gate.phase === 'open') deliverNow();
 * ```
 */
export type Phase = 'new' | 'starting' | 'open' | 'closing' | 'closed';

/**
 * Who may come in, and when: the registry's {@link Phase} (moved only by its
 * methods), the per-ID locks, and the operations in flight that `close()`
 * waits for. Every module that needs "is the registry open" or "run this
 * under the ID's lock" is handed this object, never the registry.
 *
 * @example
 * ```ts
 * const gate = new RegistryGate();
 * await gate.starting(async () => { await store.open(); gate.opened(); return summary; });
 * await gate.exclusive('order-7', () => activate('order-7'));
 * ```
 */
export class RegistryGate {
  #phase: Phase = 'new';
  #start: Promise<unknown> | undefined;
  readonly locks = new KeyedMutex();
  readonly #inFlight = new Set<Promise<unknown>>();

  get phase(): Phase {
    return this.#phase;
  }

  /** Runs `start` once (later calls get the same promise); `new` → `starting`. */
  starting<T>(start: () => Promise<T>): Promise<T> {
    if (this.#phase === 'closing' || this.#phase === 'closed')
      return Promise.reject(this.closedError());
    if (this.#start) return this.#start as Promise<T>;
    this.#phase = 'starting';
    const run = start();
    this.#start = run;
    return run;
  }

  /** `starting` → `open`. */
  opened(): void {
    if (this.#phase === 'starting') this.#phase = 'open';
  }

  /** A failed start was undone: back to `new` (unless a close began meanwhile). */
  startFailed(): void {
    if (this.#phase === 'starting' || this.#phase === 'open') this.#phase = 'new';
    this.#start = undefined;
  }

  /** → `closing`; returns the phase it was in and the start under way, if any. */
  closing(): { was: Phase; start: Promise<unknown> | undefined } {
    const was = this.#phase;
    this.#phase = 'closing';
    return { was, start: this.#start };
  }

  /** → `closed`. */
  closed(): void {
    this.#phase = 'closed';
  }

  /** Whether a close has begun. */
  get isClosing(): boolean {
    return this.#phase === 'closing' || this.#phase === 'closed';
  }

  /** Resolves once open; waits for a start under way; rejects if not started or closed. */
  async ready(): Promise<void> {
    if (this.#phase === 'open') return;
    if (this.#phase === 'starting') {
      await this.#start;
      return;
    }
    if (this.#phase === 'new') {
      throw new RegistryError(
        'REGISTRY_NOT_STARTED',
        'The registry is not started; await registry.start() first.',
      );
    }
    throw this.closedError();
  }

  assertOpen(): void {
    if (this.#phase !== 'open') throw this.closedError();
  }

  closedError(): RegistryError {
    return new RegistryError(
      'REGISTRY_CLOSED',
      'The registry is closed; create a new one (createRegistry) over the same store to continue.',
    );
  }

  /** Runs `fn` under the lock of `id`, counted as in flight until it settles. */
  exclusive<T>(id: string, fn: () => T | Promise<T>): Promise<T> {
    const run = this.locks.run(id, fn);
    this.#inFlight.add(run);
    const forget = () => this.#inFlight.delete(run);
    run.then(forget, forget);
    return run;
  }

  /** Resolves once every operation in flight has settled and no lock is held (at close). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    await this.locks.drain();
  }
}
