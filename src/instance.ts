import type { AnyActor } from 'xstate';
import { RegistryError, type SerializedError } from './errors.js';
import type { HistoryLog } from './history.js';
import type { IdempotencyLog } from './idempotency.js';
import { withoutInlineChildren } from './inline-child.js';
import type { InstanceId } from './instance-id.js';
import type { Life } from './lifecycle.js';
import type { ResolvedMachine } from './machines.js';
import { persistableSnapshot } from './persistable-snapshot.js';
import { type FrozenState, RareFields } from './rare-fields.js';
import { type InstanceRecord, type InstanceStatusName, RECORD_FORMAT } from './record.js';
import { persistedSnapshot } from './xstate-internals/persisted-snapshot.js';
import { readTimers } from './xstate-internals/scheduler.js';

/** Re-exported: the instance table and others name it from here. */
export type { FrozenState } from './rare-fields.js';

/**
 * The flags of an instance's life, readable by everyone, written only by the
 * instance table (through {@link Instance.writeLife}; test/architecture.test.ts
 * checks that no other module calls it).
 *
 * @example
 * ```ts
 * instance.writeLife({ status: 'stopped', stopReason: 'cancelled' }); // in instance-table.ts only
 * ```
 */
export interface LifeFlags {
  status: InstanceStatusName;
  stopReason: string | undefined;
  error: SerializedError | undefined;
  frozen: FrozenState | undefined;
  detaching: boolean;
  starting: boolean;
}

// The bits of Instance's one slot of flags: detaching, starting, then two bits
// each for the status and the life, as indexes into these lists.
const DETACHING = 1;
const STARTING = 2;
const STATUS_SHIFT = 2;
const LIFE_SHIFT = 4;
const STATUSES: readonly InstanceStatusName[] = ['running', 'done', 'error', 'stopped'];
const LIVES: readonly Life[] = ['live', 'passive', 'finished', 'gone'];

// An unknown value would set every bit above its place: refused loudly instead.
function indexIn<T>(list: readonly T[], value: T): number {
  const i = list.indexOf(value);
  if (i < 0) throw new Error(`xstate-registry: unknown instance state ${String(value)}`);
  return i;
}

/**
 * The registry's bookkeeping for one instance ID: the live actor if there is one,
 * its lifecycle, and the counters the persister uses to know what is durable.
 * Internal: users see actors and {@link InstanceStatus} objects, never this.
 */
export class Instance {
  readonly id: InstanceId;
  readonly def: ResolvedMachine;
  readonly createdAt: number;
  updatedAt: number;
  actor: AnyActor | undefined;
  /** The fields most instances never set (see {@link RareFields}), made on first use. */
  #rare: RareFields | undefined = undefined;
  /**
   * `detaching`, `starting`, the status and the life, as bits of one slot rather
   * than four fields on every instance (0: not detaching, not starting, running, live).
   */
  #flags = 0;
  /** Last activity on the registry's clock, for idle passivation. */
  lastActive: number;
  /**
   * The statuses the list index has filed this instance under, one bit each
   * (owned by InstanceIndex): a field, not a per-instance Set in a WeakMap,
   * since it is read on every change and kept for every instance.
   */
  listed = 0;
  /**
   * Its newest entry in the list index's update order (owned by InstanceIndex;
   * older entries are stale): a field, not a WeakMap entry per instance.
   */
  latestUpdate: object | undefined = undefined;
  /** The status the list index's tally counts it under (owned by StatusTally), for the same reason. */
  tallied: InstanceStatusName | undefined = undefined;
  /**
   * Bumped on every change; `durable` trails it until the store has the change
   * (the persister sets `durable` to -1 when it retires the instance's writes).
   */
  version = 0;
  durable = 0;

  /** `born`: the flags of an instance loaded from a record (a finished one comes with its last state). */
  constructor(
    id: InstanceId,
    def: ResolvedMachine,
    createdAt: number,
    born?: Partial<Pick<LifeFlags, 'status' | 'stopReason' | 'error' | 'frozen'>>,
  ) {
    this.id = id;
    this.def = def;
    this.createdAt = createdAt;
    this.updatedAt = createdAt;
    this.lastActive = createdAt;
    if (born) this.writeLife(born);
  }

  get status(): InstanceStatusName {
    return STATUSES[(this.#flags >> STATUS_SHIFT) & 3] as InstanceStatusName;
  }

  /**
   * Where it is in its life. Written only by the instance table (through
   * `moveTo`, which checks each move); everything else reads it.
   */
  get life(): Life {
    return LIVES[(this.#flags >> LIFE_SHIFT) & 3] as Life;
  }

  set life(to: Life) {
    this.#flags = (this.#flags & ~(3 << LIFE_SHIFT)) | (indexIn(LIVES, to) << LIFE_SHIFT);
  }

  get stopReason(): string | undefined {
    return this.#rare?.stopReason;
  }

  get error(): SerializedError | undefined {
    return this.#rare?.error;
  }

  /**
   * The last state, captured when the actor stopped being hosted (stop, close)
   * or as loaded for an instance that is not live.
   */
  get frozen(): FrozenState | undefined {
    return this.#rare?.frozen;
  }

  /** Set while the registry itself stops the actor, so its 'stopped' is not mistaken for the user's. */
  get detaching(): boolean {
    return (this.#flags & DETACHING) !== 0;
  }

  /** Set while the actor's `start()` runs. */
  get starting(): boolean {
    return (this.#flags & STARTING) !== 0;
  }

  /**
   * Writes life flags (each one present in `patch`). Internal to the instance
   * table, their one owner: everyone else asks the table for a transition.
   */
  writeLife(patch: Partial<LifeFlags>): void {
    if ('status' in patch && patch.status !== undefined)
      this.#flags =
        (this.#flags & ~(3 << STATUS_SHIFT)) | (indexIn(STATUSES, patch.status) << STATUS_SHIFT);
    if ('stopReason' in patch) Instance.#setRare(this, 'stopReason', patch.stopReason);
    if ('error' in patch) Instance.#setRare(this, 'error', patch.error);
    if ('frozen' in patch) Instance.#setRare(this, 'frozen', patch.frozen);
    if ('detaching' in patch && patch.detaching !== undefined)
      this.#flags = patch.detaching ? this.#flags | DETACHING : this.#flags & ~DETACHING;
    if ('starting' in patch && patch.starting !== undefined)
      this.#flags = patch.starting ? this.#flags | STARTING : this.#flags & ~STARTING;
  }

  get type(): string {
    return this.def.type;
  }

  /** Passivated: running, but unloaded to the store until something needs it. */
  get passive(): boolean {
    return this.life === 'passive';
  }

  /** Out of the table: purged, replaced, taken over or given back. */
  get gone(): boolean {
    return this.life === 'gone';
  }

  /** Captures the actor's last persisted state before the registry stops hosting it. */
  freeze(withTimers: boolean): void {
    const actor = this.actor;
    if (!actor || this.frozen) return;
    try {
      Instance.#setRare(this, 'frozen', {
        snapshot: withTimers ? this.snapshot() : this.#endSnapshot(actor),
        timers: withTimers && this.status === 'running' ? readTimers(actor) : [],
      });
    } catch (err) {
      // Not persistable (see snapshot()). The actor is about to stop, and a
      // stopped actor's snapshot must never be written in place of its state:
      // every later write reports this error and the last good record stays.
      this.unfreezable = err;
    }
  }

  /**
   * The state an instance stopped for good (stop, purge) keeps. Its final
   * record is never restored into an actor, and its inline children stop with
   * it, so they are left out rather than losing the stop itself.
   */
  #endSnapshot(actor: AnyActor): unknown {
    try {
      return this.snapshot();
    } catch (err) {
      if ((err as RegistryError).details?.child === undefined) throw err;
      return withoutInlineChildren(persistedSnapshot(actor));
    }
  }

  /** Why {@link freeze} could not capture the last state, if it could not. */
  get unfreezable(): unknown {
    return this.#rare?.unfreezable;
  }

  set unfreezable(value: unknown) {
    Instance.#setRare(this, 'unfreezable', value);
  }

  /**
   * Why the latest state could not be encoded (`NOT_SERIALIZABLE`,
   * `SNAPSHOT_TOO_LARGE`), until a later state can: the store still has the
   * last state that could, which is what a restart resumes from.
   */
  get persistError(): RegistryError | undefined {
    return this.#rare?.persistError;
  }

  set persistError(value: RegistryError | undefined) {
    Instance.#setRare(this, 'persistError', value);
  }

  /** Passivation's wake-up timer while passive (cleared by the table when it leaves that state). */
  get wakeTimer(): unknown {
    return this.#rare?.wakeTimer;
  }

  set wakeTimer(value: unknown) {
    Instance.#setRare(this, 'wakeTimer', value);
  }

  /** Keys of the idempotent events it applied; created on first use. */
  get idempotencyKeys(): IdempotencyLog | undefined {
    return this.#rare?.idempotencyKeys;
  }

  set idempotencyKeys(value: IdempotencyLog | undefined) {
    Instance.#setRare(this, 'idempotencyKeys', value);
  }

  /** Its journal of transitions, when its type keeps a history (dropped while passive). */
  get history(): HistoryLog | undefined {
    return this.#rare?.history;
  }

  set history(value: HistoryLog | undefined) {
    Instance.#setRare(this, 'history', value);
  }

  /** Created on first use: most instances are never waited for. */
  get waiters(): Set<() => void> | undefined {
    return this.#rare?.waiters;
  }

  set waiters(value: Set<() => void> | undefined) {
    Instance.#setRare(this, 'waiters', value);
  }

  // Setting one to undefined on an instance that never had any makes nothing.
  // Static: a private instance method would cost every instance a slot (its brand).
  static #setRare<K extends keyof RareFields>(
    instance: Instance,
    key: K,
    value: RareFields[K],
  ): void {
    if (value === undefined && instance.#rare === undefined) return;
    instance.#rare ??= new RareFields();
    instance.#rare[key] = value;
  }

  /** The persisted snapshot as of now; throws `NOT_SERIALIZABLE` when XState cannot persist it. */
  snapshot(): unknown {
    if (this.frozen) return this.frozen.snapshot;
    if (this.unfreezable !== undefined) throw this.unfreezable;
    return persistableSnapshot(this.actor, this.id, this.status);
  }

  /** The current snapshot for display: the persisted one, or the live one when XState cannot persist it. */
  viewSnapshot(): unknown {
    try {
      return this.snapshot();
    } catch {
      return this.actor?.getSnapshot();
    }
  }

  /**
   * The envelope to write, built from the latest state (so coalesced writes
   * carry the newest). With `stopping`, the record a stop would write if it
   * stopped the actor now: the same snapshot, no timers, the stop's fields.
   */
  toRecord(stopping?: { stopReason: string | undefined; updatedAt: number }): InstanceRecord {
    const snapshot = stopping && this.actor ? this.#endSnapshot(this.actor) : this.snapshot();
    if (snapshot === undefined) {
      throw new RegistryError(
        'NOT_SERIALIZABLE',
        `Instance '${this.id}' has no state in memory to write.`,
        {
          details: { id: this.id },
        },
      );
    }
    const record: InstanceRecord = {
      format: RECORD_FORMAT,
      id: this.id,
      type: this.def.type,
      machineVersion: this.def.version,
      status: stopping ? 'stopped' : this.status,
      createdAt: this.createdAt,
      updatedAt: stopping ? stopping.updatedAt : this.updatedAt,
      snapshot,
      timers: stopping
        ? []
        : this.frozen
          ? this.frozen.timers
          : this.actor && this.status === 'running'
            ? readTimers(this.actor)
            : [],
    };
    const stopReason = stopping ? stopping.stopReason : this.stopReason;
    if (stopReason !== undefined) record.stopReason = stopReason;
    if (this.error !== undefined) record.error = this.error;
    if (this.idempotencyKeys?.size) record.idempotencyKeys = this.idempotencyKeys.toJSON();
    if (this.history && this.def.history) record.history = this.history.toJSON(this.def.history);
    return record;
  }

  notifyWaiters(): void {
    if (this.waiters) for (const waiter of [...this.waiters]) waiter();
  }
}
