import type { AnyActor } from 'xstate';
import type { ActorHost } from './actor-host.js';
import type { Clock } from './clock.js';
import { RegistryError } from './errors.js';
import { HistoryLog } from './history.js';
import { IdempotencyLog } from './idempotency.js';
import { inlineChild } from './inline-child.js';
import { Instance } from './instance.js';
import { toInstanceId } from './instance-id.js';
import type { ResolvedMachine } from './machines.js';
import type { PersistedTimer } from './persisted-timer.js';
import { type InstanceRecord, parseRecord } from './record.js';
import type { RegistryEmitter, RegistryEvents } from './registry-events.js';
import { setAside } from './set-aside.js';
import { unknownStoredState } from './state-value.js';
import type { Store, StoreKey } from './stores/store.js';
import { restoreTimers } from './xstate-internals/scheduler.js';

// The one hydration path — decode, migrate, restore, re-arm timers, host — and
// its one failure policy, shared by start(), passivation's activation and the
// cluster's adoption and takeover.

/** Emits a registry event (the registry's emitter, passed down). */
export type Emit = <K extends keyof RegistryEvents>(name: K, payload: RegistryEvents[K]) => void;

function migrate(
  record: InstanceRecord,
  def: ResolvedMachine,
): { snapshot: unknown; migrated: boolean } {
  if (record.machineVersion === def.version) return { snapshot: record.snapshot, migrated: false };
  if (record.machineVersion > def.version) {
    throw new RegistryError(
      'MIGRATION_FAILED',
      `Instance '${record.id}' was written by version ${record.machineVersion} of machine '${def.type}', newer than the registered version ${def.version}; deploy the newer machine.`,
      { details: { id: record.id } },
    );
  }
  if (!def.migrate) {
    throw new RegistryError(
      'MIGRATION_FAILED',
      `Instance '${record.id}' was written by version ${record.machineVersion} of machine '${def.type}' (now ${def.version}) and the machine has no migrate function.`,
      { details: { id: record.id } },
    );
  }
  try {
    return { snapshot: def.migrate(record.snapshot, record.machineVersion), migrated: true };
  } catch (cause) {
    throw new RegistryError(
      'MIGRATION_FAILED',
      `Migrating instance '${record.id}' from version ${record.machineVersion} to ${def.version} threw.`,
      { cause, details: { id: record.id } },
    );
  }
}

/** A stored record, checked against the registered machines and migrated to the current version. */
export interface DecodedRecord {
  record: InstanceRecord;
  def: ResolvedMachine;
  snapshot: unknown;
  migrated: boolean;
}

/**
 * Throws `CORRUPT_RECORD` unless `record` is instance `id`'s (and of `type`,
 * when known): another instance's record put in its place (a copied file) is
 * never read as its state. start() tells the same from a record's key.
 *
 * @example
 * ```ts
 * assertRecordOf(decoded.record, instance.id, instance.type);
 * ```
 */
export function assertRecordOf(
  record: { id: string; type: string },
  id: string,
  type?: string,
): void {
  if (record.id === id && (type === undefined || record.type === type)) return;
  throw new RegistryError(
    'CORRUPT_RECORD',
    `The stored record of instance '${id}' holds instance '${record.id}' (${record.type}): set aside, never read in its place.`,
    { details: { id } },
  );
}

/**
 * Parses a stored record, finds its machine and migrates its snapshot; throws
 * `CORRUPT_RECORD`, `UNKNOWN_MACHINE` or `MIGRATION_FAILED`.
 */
export function decodeRecord(text: string, machines: Map<string, ResolvedMachine>): DecodedRecord {
  return decodeParsed(parseRecord(text), machines);
}

/** {@link decodeRecord} for a record already parsed (and validated) by `parseRecord`. */
export function decodeParsed(
  record: InstanceRecord,
  machines: Map<string, ResolvedMachine>,
): DecodedRecord {
  const def = machines.get(record.type);
  if (!def) {
    throw new RegistryError(
      'UNKNOWN_MACHINE',
      `Instance '${record.id}' has type '${record.type}', which is not registered; register the machine and move the record back.`,
      { details: { id: record.id, type: record.type } },
    );
  }
  const { snapshot, migrated } = migrate(record, def);
  // Built as one literal (no spread): one object of one shape per record.
  const decoded: DecodedRecord = { record, def, snapshot, migrated };
  // Only a running instance is restored into an actor; a finished one is only shown.
  if (record.status === 'running') {
    const unknown = unknownStoredState(def.machine, snapshot);
    if (unknown?.src !== undefined) {
      throw new RegistryError(
        'RESTORE_FAILED',
        `Instance '${record.id}' was stored with its child '${unknown.children.join('.')}' in state ${unknown.part}, which the child's machine '${unknown.src}' does not have; the child machine may have changed incompatibly: add a version and a migration to '${def.type}'.`,
        { details: { id: record.id, child: unknown.children.join('.') } },
      );
    }
    if (unknown) {
      throw new RegistryError(
        'RESTORE_FAILED',
        `Instance '${record.id}' was stored in state ${unknown.part}, which machine '${def.type}' does not have; the machine may have changed incompatibly: add a version and a migration.`,
        { details: { id: record.id } },
      );
    }
  }
  const inline = record.status === 'running' ? inlineChild(decoded.snapshot) : undefined;
  if (inline) {
    throw new RegistryError(
      'RESTORE_FAILED',
      `Instance '${record.id}' was stored with an inline child actor '${inline}' (by an older xstate-registry), which XState cannot restore; register the child's logic in setup({ actors }), spawn it by name, and recreate the instance.`,
      { details: { id: record.id, child: inline } },
    );
  }
  return decoded;
}

/** The registry's bookkeeping for a decoded record, with no actor yet. */
export function instanceFromRecord({ record, def, snapshot }: DecodedRecord): Instance {
  const instance = new Instance(toInstanceId(record.id), def, record.createdAt, {
    status: record.status,
    stopReason: record.stopReason,
    error: record.error,
    // A finished instance is never live again: its last state is kept as loaded.
    frozen: record.status === 'running' ? undefined : { snapshot, timers: [] },
  });
  instance.updatedAt = record.updatedAt;
  if (record.idempotencyKeys) instance.idempotencyKeys = new IdempotencyLog(record.idempotencyKeys);
  if (def.history) instance.history = new HistoryLog(record.history);
  return instance;
}

/**
 * Re-creates the actor of a running instance from its snapshot and re-arms its
 * delayed events (overdue ones are delivered at once); reports events it had to drop.
 */
export function resume(
  instance: Instance,
  snapshot: unknown,
  timers: readonly PersistedTimer[],
  deps: {
    clock: Clock;
    actors: Pick<ActorHost, 'host' | 'detach'>;
    emitter: Pick<RegistryEmitter, 'emit'>;
  },
): AnyActor {
  const actor = deps.actors.host(instance, { snapshot });
  let droppedTimers: ReturnType<typeof restoreTimers>;
  try {
    droppedTimers = restoreTimers(actor, timers, deps.clock);
  } catch (err) {
    // The actor runs already: stopped here, for every caller (start, activation,
    // takeover), or it would live on unhosted and write back the record set aside.
    deps.actors.detach(instance, false);
    throw err;
  }
  for (const dropped of droppedTimers) {
    deps.emitter.emit(
      'error',
      new RegistryError(
        'RESTORE_FAILED',
        `A delayed event ${JSON.stringify(dropped.timer.event.type)} of instance '${instance.id}' was dropped: ${dropped.reason}.`,
        { details: { id: instance.id } },
      ),
    );
  }
  return actor;
}

/**
 * The failure policy of every hydration: turns what went wrong into a
 * `RegistryError` (`fallback` code when it is not one), moves the record aside
 * under `key` and reports it (`quarantined`, or `QUARANTINE_FAILED` if it could
 * not be moved). The caller then leaves the instance out of its table — and a
 * cluster process gives back a lease it still holds.
 *
 * @example
 * ```ts
 * const { error, moved } = await failHydration(store, emit, key, id, err, 'RESTORE_FAILED');
 * throw error;
 * ```
 */
export async function failHydration(
  store: Pick<Store, 'quarantine'>,
  emit: Emit,
  key: StoreKey,
  id: string | undefined,
  cause: unknown,
  fallback: 'CORRUPT_RECORD' | 'RESTORE_FAILED',
): Promise<{ error: RegistryError; moved: boolean }> {
  const error =
    cause instanceof RegistryError
      ? cause
      : new RegistryError(
          fallback,
          id === undefined
            ? `The instance in stored entry '${key}' could not be restored.`
            : `Instance '${id}' could not be restored.`,
          { cause, ...(id === undefined ? {} : { details: { id } }) },
        );
  return { error, moved: await setAside(store, emit, key, id, error) };
}
