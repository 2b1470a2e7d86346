import type { AnyActor } from 'xstate';
import type { ActorHost } from './actor-host.js';
import type { Clock } from './clock.js';
import { isRegistryError, RegistryError } from './errors.js';
import { HistoryLog } from './history.js';
import {
  assertRecordOf,
  type DecodedRecord,
  decodeRecord,
  failHydration,
  resume,
} from './hydration.js';
import { IdempotencyLog } from './idempotency.js';
import { hasInFlightWork } from './in-flight-work.js';
import type { Instance } from './instance.js';
import type { InstanceTable } from './instance-table.js';
import type { ResolvedMachine } from './machines.js';
import type { PersistedTimer } from './persisted-timer.js';
import type { Persister } from './persister.js';
import type { RegistryEmitter } from './registry-events.js';
import type { RegistryGate } from './registry-gate.js';
import { type Store, storeKey } from './stores/store.js';

export interface PassivationDeps {
  idleTimeoutMs: number;
  clock: Clock;
  instances: InstanceTable;
  machines: Map<string, ResolvedMachine>;
  store: Store;
  persister: Persister;
  actors: ActorHost;
  emitter: RegistryEmitter;
  /** Runs work under an instance ID's lock, counted in flight until it settles. */
  gate: RegistryGate;
}

/**
 * Idle passivation (Orleans' activation collection, Akka's passivation): an actor
 * with no activity for `idleTimeoutMs` is persisted and unloaded, leaving a small
 * index entry; anything that needs it (an event, a spawnSingleton, a waitFor, its
 * next delayed event falling due) activates it again from the store, exactly once,
 * under its ID's lock. An actor with in-flight work (see {@link hasInFlightWork})
 * is never passivated: its answer would have nowhere to land.
 */
export class Passivation {
  readonly #d: PassivationDeps;
  #sweepTimer: unknown;
  #stopped = false;
  // Between start() and stop(): an instance adopted during start() (a
  // cluster's takeover) must not arm a sweep that start() arms again.
  #sweeping = false;

  constructor(deps: PassivationDeps) {
    this.#d = deps;
  }

  /** Starts the periodic sweep for idle actors. */
  start(): void {
    this.#stopped = false;
    this.#sweeping = true;
    if (this.#sweepTimer === undefined) this.#scheduleSweep();
  }

  /**
   * An instance is live (spawned, activated, adopted): the sweep runs again if
   * it had stopped. It stops while nothing is live, so that a test clock moved
   * a year ahead does not fire a sweep every `idleTimeoutMs / 2` of it (one
   * `clock.set(8.64e15)` never returned).
   */
  wake(): void {
    if (this.#sweepTimer === undefined) this.#scheduleSweep();
  }

  /** Stops sweeping and waking (at close). */
  stop(): void {
    this.#stopped = true;
    this.#sweeping = false;
    if (this.#sweepTimer !== undefined) this.#d.clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const instance of this.#d.instances.values()) {
      if (instance.wakeTimer === undefined) continue;
      this.#d.clock.clearTimeout(instance.wakeTimer);
      instance.wakeTimer = undefined;
    }
  }

  /** Records activity: an idle actor is one with none for `idleTimeoutMs`. */
  touch(instance: Instance): void {
    instance.lastActive = this.#d.clock.now();
    if (this.#sweepTimer === undefined) this.#scheduleSweep();
  }

  /** Marks `instance` passive (no actor) and wakes it when its earliest delayed event falls due. */
  sleep(instance: Instance, timers: readonly PersistedTimer[]): void {
    // Taken over or purged while its last write was under way: nothing to unload.
    if (instance.gone) return;
    this.#d.instances.sleep(instance);
    // Its keys are in its stored record (unless that write failed: then the frozen
    // state keeps them): a passive instance is a small index entry, not 100 keys.
    if (!instance.frozen) {
      instance.idempotencyKeys = undefined;
      instance.history = undefined;
    }
    let next = Number.POSITIVE_INFINITY;
    for (const t of timers) next = Math.min(next, t.dueAt);
    if (next === Number.POSITIVE_INFINITY) return;
    this.#wakeAfter(instance, Math.max(0, next - this.#d.clock.now()), 0);
  }

  /**
   * Arms the wake-up of a passive instance. An activation that fails because
   * the store did (a read that failed) leaves it passive, and is tried again, after a delay that doubles from 100 ms up to 30 s: its delayed
   * event is due, and nothing else would wake it.
   */
  #wakeAfter(instance: Instance, delay: number, retries: number): void {
    if (this.#stopped) return;
    instance.wakeTimer = this.#d.clock.setTimeout(() => {
      instance.wakeTimer = undefined;
      this.#d.gate
        .exclusive(instance.id, () => this.activate(instance))
        .catch((err) => {
          this.#report(instance, err);
          // Only a store that failed may do better next time; a record that cannot be restored would not.
          if (
            err instanceof RegistryError &&
            err.code === 'PERSIST_FAILED' &&
            instance.passive &&
            !instance.gone &&
            instance.wakeTimer === undefined
          )
            this.#wakeAfter(instance, Math.min(100 * 2 ** retries, 30_000), retries + 1);
        });
    }, delay);
  }

  /**
   * Brings a passive instance back: from its frozen state if its last write
   * failed, else from the store, with its delayed events re-armed and any that
   * fell due delivered at once. Call under the instance's lock.
   */
  async activate(instance: Instance): Promise<AnyActor | undefined> {
    if (!instance.passive || instance.gone) return instance.actor;
    let snapshot: unknown;
    let timers: readonly PersistedTimer[];
    if (instance.frozen) {
      ({ snapshot, timers } = instance.frozen);
    } else {
      let text: string | undefined;
      try {
        text = await this.#d.store.read(instance.id);
      } catch (cause) {
        // A record the store refuses to read (damaged bytes, not a regular
        // file, over its size limit) is set aside, as start() would: a retry
        // would only be refused again.
        if (
          isRegistryError(cause, 'CORRUPT_RECORD') ||
          isRegistryError(cause, 'SNAPSHOT_TOO_LARGE')
        )
          throw await this.#setAside(instance, cause, 'CORRUPT_RECORD');
        throw cause instanceof RegistryError
          ? cause
          : new RegistryError(
              'PERSIST_FAILED',
              `Reading the stored record of passivated instance '${instance.id}' failed; it stays passive (a due delayed event wakes it again). Check the store, then retry.`,
              { cause, details: { id: instance.id } },
            );
      }
      if (text === undefined) {
        throw new RegistryError(
          'RESTORE_FAILED',
          `The stored record of passivated instance '${instance.id}' is gone; it cannot be activated.`,
          { details: { id: instance.id } },
        );
      }
      let decoded: DecodedRecord;
      try {
        decoded = decodeRecord(text, this.#d.machines);
        // Another instance's record put in its place while it slept (a copied file).
        assertRecordOf(decoded.record, instance.id, instance.type);
      } catch (err) {
        throw await this.#setAside(instance, err, 'CORRUPT_RECORD');
      }
      snapshot = decoded.snapshot;
      timers = decoded.record.timers;
      const keys = decoded.record.idempotencyKeys;
      instance.idempotencyKeys = keys ? new IdempotencyLog(keys) : undefined;
      if (instance.def.history) instance.history = new HistoryLog(decoded.record.history);
    }
    const fromStore = instance.frozen === undefined;
    this.#d.instances.wake(instance);
    try {
      const actor = resume(instance, snapshot, timers, {
        clock: this.#d.clock,
        actors: this.#d.actors,
        emitter: this.#d.emitter,
      });
      this.touch(instance);
      this.#d.emitter.emit('activated', { id: instance.id, type: instance.type, actor });
      return actor;
    } catch (err) {
      // Its stored record cannot be restored: the one failure policy of hydration.
      if (fromStore) throw await this.#setAside(instance, err, 'RESTORE_FAILED');
      // Its state is only in memory (its last write failed): keep it, never lose it.
      this.#d.instances.sleep(instance, { snapshot, timers: [...timers] });
      instance.actor = undefined;
      throw err;
    }
  }

  /**
   * A passive instance whose stored record cannot be hydrated leaves the table
   * (its waiters told) and its record is moved aside and reported, as at start:
   * it is not retried on every call, and the ID is free to be created afresh
   * (unless moving it failed: then it stays, and so does the ID's record).
   */
  async #setAside(
    instance: Instance,
    err: unknown,
    code: 'CORRUPT_RECORD' | 'RESTORE_FAILED',
  ): Promise<RegistryError> {
    const actor = instance.actor;
    this.#d.instances.drop(instance);
    if (actor) this.#d.actors.detach(instance, false);
    const key = this.#d.store.keyOf?.(instance.id) ?? storeKey(instance.id);
    const { error, moved } = await failHydration(
      this.#d.store,
      (name, payload) => this.#d.emitter.emit(name, payload),
      key,
      instance.id,
      err,
      code,
    );
    if (!moved) this.#d.instances.leaveInPlace(key);
    return error;
  }

  /**
   * Persists and unloads `instance` if it is still idle. Call under its lock.
   * If the write fails the state stays in memory (frozen) and the instance is
   * still passive: activation then starts from that state, so nothing is lost.
   */
  async passivate(instance: Instance): Promise<void> {
    const now = this.#d.clock.now();
    if (
      !instance.actor ||
      instance.passive ||
      instance.gone ||
      instance.status !== 'running' ||
      instance.waiters?.size ||
      // Mail applied but not yet deleted: unloading would drop the keys kept for it.
      instance.idempotencyKeys?.pinned ||
      now - instance.lastActive < this.#d.idleTimeoutMs
    ) {
      return;
    }
    // Work that lives only in memory (an invoked promise, callback or observable)
    // would lose its answer if the actor were unloaded: such actors stay live
    // until it answers, and count as idle only from then on.
    if (hasInFlightWork(instance.actor)) return;
    try {
      instance.snapshot(); // XState cannot persist some actors (inline children): those stay live.
    } catch {
      return;
    }
    this.#d.actors.detach(instance, true);
    const timers = instance.frozen?.timers ?? [];
    instance.actor = undefined;
    try {
      await this.#d.persister.durable(instance);
      this.#d.instances.stored(instance);
    } catch (err) {
      this.#report(instance, err);
    }
    this.sleep(instance, timers);
    this.#d.emitter.emit('passivated', { id: instance.id, type: instance.type });
  }

  #scheduleSweep(): void {
    if (!this.#sweeping) return;
    const every = Math.max(10, Math.min(this.#d.idleTimeoutMs / 2, 60_000));
    this.#sweepTimer = this.#d.clock.setTimeout(() => {
      this.#sweepTimer = undefined;
      if (this.#sweep()) this.#scheduleSweep();
    }, every);
  }

  /** Passivates the idle; answers whether any instance was live (so the sweep goes on). */
  #sweep(): boolean {
    const cutoff = this.#d.clock.now() - this.#d.idleTimeoutMs;
    let live = false;
    for (const instance of this.#d.instances.values()) {
      if (!instance.actor || instance.passive || instance.status !== 'running') continue;
      // Counted even when passivated now: one more sweep then finds none.
      live = true;
      if (
        instance.lastActive <= cutoff &&
        !instance.waiters?.size &&
        !this.#d.gate.locks.isLocked(instance.id)
      ) {
        this.#d.gate
          .exclusive(instance.id, () => this.passivate(instance))
          .catch((err) => this.#report(instance, err));
      }
    }
    return live;
  }

  #report(instance: Instance, err: unknown): void {
    this.#d.emitter.emit(
      'error',
      err instanceof RegistryError
        ? err
        : new RegistryError(
            'PERSIST_FAILED',
            `Passivating or activating '${instance.id}' failed.`,
            {
              cause: err,
              details: { id: instance.id },
            },
          ),
    );
  }
}
