import type { Delivery } from './delivery.js';
import { RegistryError } from './errors.js';
import type { RegistryParts } from './registry-parts.js';
import { restoreStore, type StartSummary } from './restore.js';

/**
 * A registry's session with its store: `start()` opens the store and brings
 * back what it holds (or, with a cluster store, takes over orphans); `close()`
 * stops hosting every actor without marking any stopped, writes their last
 * state and gives the store back; a failed start is undone so that it may be
 * tried again; damage the store reports is answered by writing again what
 * memory holds.
 *
 * @example
 * ```ts
 * const session = new Session(parts, delivery);
 * await session.start();
 * await session.close();
 * ```
 */
export class Session {
  readonly #parts: RegistryParts;
  readonly #delivery: Delivery;
  /** Whether this registry opened the store (and so is the one to close it). */
  #storeOpened = false;
  #unwatchStore: (() => void) | undefined;
  /** The close under way (unset again when it fails, so that close() can be retried). */
  #closing: Promise<void> | undefined;
  /** Whether close() has wound down the actors, timers and listeners (done once). */
  #wound = false;
  /** After a close that failed to write: tries it again as writes land (the unsubscribe). */
  #retryOnProgress: (() => void) | undefined;

  constructor(parts: RegistryParts, delivery: Delivery) {
    this.#parts = parts;
    this.#delivery = delivery;
  }

  start(): Promise<StartSummary> {
    const p = this.#parts;
    return p.gate.starting(async () => {
      try {
        await p.store.open();
        this.#storeOpened = true;
        this.#unwatchStore = p.store.onDamaged?.((err) => this.#storeDamaged(err));
        if (p.cluster) {
          // Nothing is loaded up front: instances are claimed as they are asked for.
          p.gate.opened();
          const restored = await p.cluster.start();
          p.passivation?.start();
          return {
            restored,
            passive: 0,
            finished: 0,
            migrated: 0,
            overdueTimers: 0,
            quarantined: [],
          };
        }
        const summary = await restoreStore({
          store: p.store,
          machines: p.machines,
          clock: p.clock,
          instances: p.instances,
          actors: p.actors,
          emitter: p.emitter,
          passivation: p.passivation,
        });
        p.gate.opened();
        p.passivation?.start();
        return summary;
      } catch (err) {
        await this.#undoStart();
        throw err;
      }
    });
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = this.#close().catch((err: unknown) => {
      // Not closed (writes failed that may yet succeed): what the store still owes
      // stays in memory, retried in the background, and the close is tried again
      // whenever one of them lands, so it finishes by itself once they all have
      // (a caller that only logs the rejection does not hold the store for good);
      // a later close() tries at once.
      if (this.#parts.gate.phase !== 'closed') {
        this.#closing = undefined;
        this.#retryOnProgress ??= this.#parts.persister.onSettled(() => {
          if (!this.#closing) void this.close().catch(() => {});
        });
      }
      throw err;
    });
    return this.#closing;
  }

  async #close(): Promise<void> {
    const p = this.#parts;
    if (!this.#wound) {
      this.#wound = true;
      const { was, start } = p.gate.closing();
      if (was === 'new') {
        p.gate.closed();
        // Handles may subscribe before start(): they are told of the close too.
        p.watchers.closeAll();
        return;
      }
      await start?.catch(() => {});
      await p.gate.settle();
      p.passivation?.stop();
      p.cluster?.stop();
      for (const instance of p.instances.values()) {
        if (instance.status === 'running' && instance.actor) p.actors.detach(instance, true);
        instance.notifyWaiters();
      }
      this.#delivery.release(true);
      p.watchers.closeAll();
    }
    if (p.gate.phase === 'closed') return;
    let refused: unknown;
    try {
      await p.persister.flush();
    } catch (err) {
      // A failed write may succeed later (a database back, a disk freed): the
      // store stays open for a retry. A refused state (too large, not
      // serializable) or a lost lease never will: close, and say so.
      if (mayYetSucceed(err)) throw err;
      refused = err;
    }
    this.#retryOnProgress?.();
    try {
      p.persister.dispose();
      this.#unwatchStore?.();
      p.cluster?.dispose();
      // Only the registry that opened the store closes it: another one may own it.
      if (this.#storeOpened) await p.store.close();
      this.#storeOpened = false;
    } finally {
      p.gate.closed();
    }
    if (refused) throw refused;
  }

  /**
   * The store lost entries (its directory was deleted from outside): write
   * every instance held in memory again. A passivated one whose state lives
   * only in the store cannot be: it is named in the report.
   */
  #storeDamaged(err: RegistryError): void {
    const p = this.#parts;
    const lost: string[] = [];
    for (const instance of p.instances.values()) {
      if (instance.gone) continue;
      if (instance.passive && !instance.frozen) lost.push(instance.id);
      else p.persister.markDirty(instance);
    }
    p.emitter.emit(
      'error',
      lost.length
        ? new RegistryError(
            err.code,
            `${err.message} Lost with it: ${lost.length} passivated instance(s) (details.lost).`,
            {
              cause: err.cause,
              details: { ...err.details, lost },
            },
          )
        : err,
    );
  }

  /**
   * After a failed start: stops what it restored (without writing: the store
   * keeps the records as they were), gives back the store if it was opened
   * here, and leaves the registry as new, so `start()` may be tried again.
   */
  async #undoStart(): Promise<void> {
    const p = this.#parts;
    // Nothing after passivation.start() can fail, so only the wake-ups armed while
    // restoring need undoing: stop() would also keep a retried start from arming them.
    p.cluster?.stop();
    for (const instance of p.instances.values()) {
      if (instance.status === 'running' && instance.actor) p.actors.detach(instance, true);
    }
    p.instances.clear();
    p.persister.dispose();
    this.#unwatchStore?.();
    if (this.#storeOpened) {
      this.#storeOpened = false;
      await p.store.close().catch((err) => p.emitter.emit('error', err));
    }
    p.gate.startFailed();
  }
}

/** Whether a flush failure names a write that failed (and may succeed on a retry). */
function mayYetSucceed(err: unknown): boolean {
  if (!(err instanceof RegistryError)) return true;
  const failures = (err.details as { failures?: Record<string, string> }).failures;
  return failures
    ? Object.values(failures).includes('PERSIST_FAILED')
    : err.code === 'PERSIST_FAILED';
}
