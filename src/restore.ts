import type { AnyActor } from 'xstate';
import type { Clock } from './clock.js';
import { RegistryError } from './errors.js';
import { IdempotencyLog } from './idempotency.js';
import { persistedHasInFlightWork } from './in-flight-work.js';
import { Instance, inlineChild } from './instance.js';
import type { ResolvedMachine } from './machines.js';
import { type InstanceRecord, parseRecord } from './record.js';
import type { RegistryEvents } from './registry-events.js';
import { setAside } from './set-aside.js';
import type { Store } from './stores/store.js';
import { type PersistedTimer, restoreTimers } from './xstate-internals.js';

/** One stored record that `start()` could not load, and moved aside. */
export interface QuarantinedRecord {
  key: string;
  id?: string;
  code: string;
  message: string;
  /** Present (`false`) when moving it aside failed too: it was left in place, not loaded, and reported as `QUARANTINE_FAILED`. */
  movedAside?: false;
}

/**
 * What `registry.start()` found in the store.
 *
 * @example
 * ```ts
 * const summary = await registry.start();
 * if (summary.quarantined.length) log.warn(summary.quarantined, 'records moved aside');
 * ```
 */
export interface StartSummary {
  /** Running instances brought back to life. */
  restored: number;
  /** Running instances left passivated (idle passivation on, nothing due): activated on demand. */
  passive: number;
  /** Done, failed or stopped instances, known again but not live. */
  finished: number;
  /** Migrated from an older machine version. */
  migrated: number;
  /** Delayed events that fell due while nothing hosted them, delivered at start. */
  overdueTimers: number;
  quarantined: QuarantinedRecord[];
}

export interface RestoreContext {
  store: Store;
  machines: Map<string, ResolvedMachine>;
  clock: Clock;
  has: (id: string) => boolean;
  add: (instance: Instance) => void;
  host: (instance: Instance, snapshot: unknown) => AnyActor;
  changed: (instance: Instance) => void;
  /** With idle passivation: index a running instance without hosting it, waking it when its first timer falls due. */
  sleep?: (instance: Instance, timers: readonly PersistedTimer[]) => void;
  emit: <K extends keyof RegistryEvents>(name: K, payload: RegistryEvents[K]) => void;
}

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
  const decoded = { record, def, ...migrate(record, def) };
  // Only a running instance is restored into an actor; a finished one is only shown.
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
export function instanceFromRecord({ record, def }: DecodedRecord): Instance {
  const instance = new Instance(record.id, def, record.createdAt);
  instance.updatedAt = record.updatedAt;
  instance.status = record.status;
  instance.stopReason = record.stopReason;
  instance.error = record.error;
  if (record.idempotencyKeys) instance.idempotencyKeys = new IdempotencyLog(record.idempotencyKeys);
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
    host: (instance: Instance, snapshot: unknown) => AnyActor;
    emit: RestoreContext['emit'];
  },
): AnyActor {
  const actor = deps.host(instance, snapshot);
  for (const dropped of restoreTimers(actor, timers, deps.clock)) {
    deps.emit(
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
 * Loads every stored record into the registry: running instances are re-created
 * from their snapshots with their pending delayed events; finished ones are
 * indexed; anything that cannot be loaded is quarantined and reported, and the
 * rest carry on.
 */
export async function restoreStore(ctx: RestoreContext): Promise<StartSummary> {
  const summary: StartSummary = {
    restored: 0,
    passive: 0,
    finished: 0,
    migrated: 0,
    overdueTimers: 0,
    quarantined: [],
  };
  const now = ctx.clock.now();
  for await (const entry of ctx.store.load()) {
    let id: string | undefined;
    try {
      if (entry.text === undefined) {
        if (entry.error instanceof RegistryError) throw entry.error;
        throw new RegistryError(
          'CORRUPT_RECORD',
          `Stored entry '${entry.key}' could not be read.`,
          { cause: entry.error },
        );
      }
      const parsed = parseRecord(entry.text);
      id = parsed.id;
      const home = ctx.store.keyOf?.(id);
      if (home !== undefined && home !== entry.key) {
        throw new RegistryError(
          'CORRUPT_RECORD',
          `Stored entry '${entry.key}' holds a record of instance '${id}' but is not the file of instance '${id}' ('${home}'): a copy or a renamed file, set aside so it is never loaded in place of the real record.`,
          { details: { id, key: entry.key } },
        );
      }
      if (ctx.has(id)) {
        throw new RegistryError(
          'CORRUPT_RECORD',
          `A second record for instance '${id}' was found; the first one was kept.`,
          { details: { id } },
        );
      }
      const decoded = decodeParsed(parsed, ctx.machines);
      const { record, def, snapshot, migrated } = decoded;
      const instance = instanceFromRecord(decoded);
      if (record.status !== 'running') {
        instance.frozen = { snapshot, timers: [] };
        ctx.add(instance);
        summary.finished++;
      } else {
        const overdue = record.timers.filter((t: PersistedTimer) => t.dueAt <= now).length;
        if (ctx.sleep && overdue === 0 && !migrated && !persistedHasInFlightWork(snapshot)) {
          // Passivation: nothing is due, so the actor need not exist until someone asks for it
          // (unless it has in-flight work: that runs again only while the actor is hosted).
          ctx.add(instance);
          ctx.sleep(instance, record.timers);
          summary.passive++;
        } else {
          const actor = resume(instance, snapshot, record.timers, ctx);
          ctx.add(instance);
          summary.overdueTimers += overdue;
          summary.restored++;
          ctx.emit('restored', { id: record.id, type: def.type, actor });
        }
      }
      if (migrated) {
        summary.migrated++;
        ctx.changed(instance);
      }
    } catch (cause) {
      const error =
        cause instanceof RegistryError
          ? cause
          : new RegistryError(
              'RESTORE_FAILED',
              `Instance in '${entry.key}' could not be restored.`,
              { cause },
            );
      const moved = await setAside(ctx.store, ctx.emit, entry.key, id, error);
      summary.quarantined.push({
        key: entry.key,
        ...(id === undefined ? {} : { id }),
        code: error.code,
        message: error.message,
        ...(moved ? {} : { movedAside: false as const }),
      });
    }
  }
  return summary;
}
