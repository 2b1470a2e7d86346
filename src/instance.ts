import type { AnyActor } from 'xstate';
import { RegistryError, type SerializedError } from './errors.js';
import type { HistoryLog } from './history.js';
import type { IdempotencyLog } from './idempotency.js';
import type { InstanceId } from './instance-id.js';
import type { Life } from './lifecycle.js';
import type { ResolvedMachine } from './machines.js';
import type { PersistedTimer } from './persisted-timer.js';
import { type InstanceRecord, type InstanceStatusName, RECORD_FORMAT } from './record.js';
import { persistedSnapshot, readTimers } from './xstate-internals.js';

/**
 * The path (`parent/child`) of the first child in a persisted snapshot whose
 * logic is not registered by name (so XState cannot restore it), if any.
 *
 * @example
 * ```ts
 * inlineChild(actor.getPersistedSnapshot()); // 'worker' for spawnChild(fromPromise(...), { id: 'worker' })
 * ```
 */
export function inlineChild(snapshot: unknown, prefix = ''): string | undefined {
  const children = (snapshot as { children?: unknown } | undefined)?.children;
  if (!children || typeof children !== 'object') return undefined;
  for (const id in children) {
    const entry = (children as Record<string, { src?: unknown; snapshot?: unknown } | undefined>)[
      id
    ];
    if (typeof entry?.src !== 'string') return `${prefix}${id}`;
    const nested = inlineChild(entry.snapshot, `${prefix}${id}/`);
    if (nested) return nested;
  }
  return undefined;
}

/** A copy of a persisted snapshot without its inline children (for the final record of a finished actor). */
function withoutInlineChildren(snapshot: unknown): unknown {
  const s = snapshot as { children?: Record<string, { src?: unknown; snapshot?: unknown }> };
  if (!s?.children || typeof s.children !== 'object') return snapshot;
  const children: Record<string, unknown> = {};
  for (const id in s.children) {
    const child = s.children[id];
    if (typeof child?.src === 'string')
      children[id] = { ...child, snapshot: withoutInlineChildren(child.snapshot) };
  }
  return { ...s, children };
}

/** The last state of an instance that is not live, kept in memory. */
export interface FrozenState {
  snapshot: unknown;
  timers: PersistedTimer[];
}

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
  #status: InstanceStatusName = 'running';
  actor: AnyActor | undefined;
  #stopReason: string | undefined;
  #error: SerializedError | undefined;
  #frozen: FrozenState | undefined;
  #detaching = false;
  #starting = false;
  /**
   * Why the latest state could not be encoded (`NOT_SERIALIZABLE`,
   * `SNAPSHOT_TOO_LARGE`), until a later state can: the store still has the
   * last state that could, which is what a restart resumes from.
   */
  persistError: RegistryError | undefined;
  /**
   * Where it is in its life. Written only by the instance table (through
   * `moveTo`, which checks each move); everything else reads it.
   */
  life: Life = 'live';
  /** Passivation's wake-up timer while passive (cleared by the table when it leaves that state). */
  wakeTimer: unknown;
  /** Last activity on the registry's clock, for idle passivation. */
  lastActive: number;
  /**
   * The statuses the list index has filed this instance under, one bit each
   * (owned by InstanceIndex): a field, not a per-instance Set in a WeakMap,
   * since it is read on every change and kept for every instance.
   */
  listed = 0;
  /** The status the index's tally counts it under (owned by InstanceIndex; a field for the reason above). */
  tallied: InstanceStatusName | undefined;
  /** The sequence number of its latest update-order entry (owned by InstanceIndex): older entries are stale. */
  indexSeq = 0;
  /**
   * Bumped on every change; `durable` trails it until the store has the change
   * (the persister sets `durable` to -1 when it retires the instance's writes).
   */
  version = 0;
  durable = 0;
  /** Keys of the idempotent events it applied; created on first use. */
  idempotencyKeys: IdempotencyLog | undefined;
  /** Its journal of transitions, when its type keeps a history (dropped while passive). */
  history: HistoryLog | undefined;
  /** Created on first use: most instances are never waited for. */
  waiters: Set<() => void> | undefined;

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
    return this.#status;
  }

  get stopReason(): string | undefined {
    return this.#stopReason;
  }

  get error(): SerializedError | undefined {
    return this.#error;
  }

  /**
   * The last state, captured when the actor stopped being hosted (stop, close)
   * or as loaded for an instance that is not live.
   */
  get frozen(): FrozenState | undefined {
    return this.#frozen;
  }

  /** Set while the registry itself stops the actor, so its 'stopped' is not mistaken for the user's. */
  get detaching(): boolean {
    return this.#detaching;
  }

  /** Set while the actor's `start()` runs. */
  get starting(): boolean {
    return this.#starting;
  }

  /**
   * Writes life flags (each one present in `patch`). Internal to the instance
   * table, their one owner: everyone else asks the table for a transition.
   */
  writeLife(patch: Partial<LifeFlags>): void {
    if ('status' in patch && patch.status !== undefined) this.#status = patch.status;
    if ('stopReason' in patch) this.#stopReason = patch.stopReason;
    if ('error' in patch) this.#error = patch.error;
    if ('frozen' in patch) this.#frozen = patch.frozen;
    if ('detaching' in patch && patch.detaching !== undefined) this.#detaching = patch.detaching;
    if ('starting' in patch && patch.starting !== undefined) this.#starting = patch.starting;
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
      this.#frozen = {
        snapshot: this.snapshot(),
        timers: withTimers && this.status === 'running' ? readTimers(actor) : [],
      };
    } catch (err) {
      if (!withTimers && (err as RegistryError).details?.child !== undefined) {
        // Stopped for good (stop, purge): its final record is never restored into
        // an actor, and its inline children stop with it, so they are left out
        // rather than losing the stop itself.
        this.#frozen = { snapshot: withoutInlineChildren(persistedSnapshot(actor)), timers: [] };
        return;
      }
      // Not persistable (see snapshot()). The actor is about to stop, and a
      // stopped actor's snapshot must never be written in place of its state:
      // every later write reports this error and the last good record stays.
      this.unfreezable = err;
    }
  }

  /** Why {@link freeze} could not capture the last state, if it could not. */
  unfreezable: unknown;

  /** The persisted snapshot as of now; throws `NOT_SERIALIZABLE` when XState cannot persist it. */
  snapshot(): unknown {
    if (this.frozen) return this.frozen.snapshot;
    if (this.unfreezable !== undefined) throw this.unfreezable;
    let snapshot: unknown;
    try {
      snapshot = this.actor && persistedSnapshot(this.actor);
    } catch (cause) {
      throw new RegistryError(
        'NOT_SERIALIZABLE',
        cause instanceof RangeError
          ? // XState's getPersistedSnapshot copies context recursively, object by object.
            `XState cannot persist instance '${this.id}': its context holds a cycle of plain objects or arrays, or nests thousands of levels deep (${cause.message}). Break the cycle, or keep it inside a Map or Set, which are stored with their cycles; flatten a deep structure.`
          : `XState cannot persist instance '${this.id}': ${(cause as Error)?.message ?? String(cause)} Register child logic in setup({ actors }) and invoke or spawn it by name, so it can be restored.`,
        { cause, details: { id: this.id } },
      );
    }
    const inline = inlineChild(snapshot);
    // A finished (done, failed) actor's record is never restored into an actor.
    if (inline && this.status !== 'running') return withoutInlineChildren(snapshot);
    if (inline) {
      // XState's production build persists an inline child's logic object as
      // its `src`, which no restore can turn back into an actor: refuse it here,
      // so the last good record stays, rather than write one that cannot load.
      throw new RegistryError(
        'NOT_SERIALIZABLE',
        `Instance '${this.id}' has an inline child actor '${inline}' (its logic was passed to invoke or spawn directly), which cannot be persisted or restored; nothing was written, and the last stored state stays. Register the child's logic in setup({ actors }) (e.g. setup({ actors: { worker: logic } })) and invoke or spawn it by that name.`,
        { details: { id: this.id, child: inline } },
      );
    }
    return snapshot;
  }

  /** The current snapshot for display: the persisted one, or the live one when XState cannot persist it. */
  viewSnapshot(): unknown {
    try {
      return this.snapshot();
    } catch {
      return this.actor?.getSnapshot();
    }
  }

  /** The envelope to write, built from the latest state (so coalesced writes carry the newest). */
  toRecord(): InstanceRecord {
    const snapshot = this.snapshot();
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
      status: this.status,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      snapshot,
      timers: this.frozen
        ? this.frozen.timers
        : this.actor && this.status === 'running'
          ? readTimers(this.actor)
          : [],
    };
    if (this.stopReason !== undefined) record.stopReason = this.stopReason;
    if (this.error !== undefined) record.error = this.error;
    if (this.idempotencyKeys?.size) record.idempotencyKeys = this.idempotencyKeys.toJSON();
    if (this.history && this.def.history) record.history = this.history.toJSON(this.def.history);
    return record;
  }

  notifyWaiters(): void {
    if (this.waiters) for (const waiter of [...this.waiters]) waiter();
  }
}
