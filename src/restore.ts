import type { ActorHost } from './actor-host.js';
import type { Clock } from './clock.js';
import { RegistryError } from './errors.js';
import { decodeParsed, failHydration, instanceFromRecord, resume } from './hydration.js';
import { persistedHasInFlightWork } from './in-flight-work.js';
import type { Instance } from './instance.js';
import type { InstanceTable } from './instance-table.js';
import type { ResolvedMachine } from './machines.js';
import type { Passivation } from './passivation.js';
import { parseRecord } from './record.js';
import type { RegistryEmitter } from './registry-events.js';
import { isBatched, type Store, type StoredEntry } from './stores/store.js';

/**
 * One stored record that `start()` could not load, and moved aside.
 *
 * @example
 * ```ts
 * const { quarantined } = await registry.start();
 * for (const r of quarantined) console.warn(r.key, r.code, r.message);
 * ```
 */
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

/**
 * The modules a restore works with (objects, not callbacks: it calls only down).
 *
 * @example
 * ```ts
 * await restoreStore({ store, machines, clock, instances, actors, emitter, passivation });
 * ```
 */
export interface RestoreContext {
  store: Store;
  machines: Map<string, ResolvedMachine>;
  clock: Clock;
  instances: Pick<InstanceTable, 'has' | 'admit' | 'changed' | 'drop' | 'leaveInPlace'>;
  actors: Pick<ActorHost, 'host' | 'detach'>;
  emitter: Pick<RegistryEmitter, 'emit' | 'has'>;
  /** With idle passivation: index a running instance without hosting it, waking it when its first timer falls due. */
  passivation?: Pick<Passivation, 'sleep'> | undefined;
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
  const entries = ctx.store.load();
  if (!isBatched(entries)) {
    for await (const entry of entries) await restoreEntry(ctx, entry, now, summary);
    return summary;
  }
  for await (const batch of entries.batches())
    for (const entry of batch) {
      // Awaited only when it sets the entry aside: even `await undefined` costs a turn.
      const settingAside = restoreEntry(ctx, entry, now, summary);
      if (settingAside) await settingAside;
    }
  return summary;
}

/**
 * Restores one entry into the registry, or sets it aside; synchronous but for
 * setting aside, so a batch of good entries costs no await each.
 */
function restoreEntry(
  ctx: RestoreContext,
  entry: StoredEntry,
  now: number,
  summary: StartSummary,
): Promise<void> | undefined {
  let id: string | undefined;
  let instance: Instance | undefined;
  try {
    if (entry.kind === 'unreadable') {
      if (entry.error instanceof RegistryError) throw entry.error;
      throw new RegistryError('CORRUPT_RECORD', `Stored entry '${entry.key}' could not be read.`, {
        cause: entry.error,
      });
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
    if (ctx.instances.has(id)) {
      throw new RegistryError(
        'CORRUPT_RECORD',
        `A second record for instance '${id}' was found; the first one was kept.`,
        { details: { id } },
      );
    }
    const decoded = decodeParsed(parsed, ctx.machines);
    const { record, def, snapshot, migrated } = decoded;
    instance = instanceFromRecord(decoded);
    if (record.status !== 'running') {
      ctx.instances.admit(instance);
      summary.finished++;
    } else {
      let overdue = 0;
      for (const t of record.timers) if (t.dueAt <= now) overdue++;
      if (ctx.passivation && overdue === 0 && !migrated && !persistedHasInFlightWork(snapshot)) {
        // Passivation: nothing is due, so the actor need not exist until someone asks for it
        // (unless it has in-flight work: that runs again only while the actor is hosted).
        ctx.instances.admit(instance);
        ctx.passivation.sleep(instance, record.timers);
        summary.passive++;
      } else {
        const actor = resume(instance, snapshot, record.timers, ctx);
        ctx.instances.admit(instance);
        summary.overdueTimers += overdue;
        summary.restored++;
        // No payload to build when nobody listens (the common case, once per instance).
        if (ctx.emitter.has('restored'))
          ctx.emitter.emit('restored', { id: record.id, type: def.type, actor });
      }
    }
    if (migrated) {
      summary.migrated++;
      ctx.instances.changed(instance);
    }
  } catch (cause) {
    // Its pending write (its actor marked it dirty as it started) is retired: the
    // record set aside must not come back. A no-op for an instance never made.
    if (instance) ctx.instances.drop(instance);
    return setAsideEntry(ctx, entry, id, cause, summary);
  }
  return undefined;
}

async function setAsideEntry(
  ctx: RestoreContext,
  entry: StoredEntry,
  id: string | undefined,
  cause: unknown,
  summary: StartSummary,
): Promise<void> {
  const { error, moved } = await failHydration(
    ctx.store,
    (name, payload) => ctx.emitter.emit(name, payload),
    entry.key,
    id,
    cause,
    'RESTORE_FAILED',
  );
  if (!moved) ctx.instances.leaveInPlace(entry.key);
  summary.quarantined.push({
    key: entry.key,
    ...(id === undefined ? {} : { id }),
    code: error.code,
    message: error.message,
    ...(moved ? {} : { movedAside: false as const }),
  });
}
