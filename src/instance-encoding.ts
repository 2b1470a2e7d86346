import { describeValue, RegistryError } from './errors.js';
import type { Instance } from './instance.js';
import type { PersistedTimer } from './persisted-timer.js';
import { encodeRecord, isRestorableTimer } from './record.js';
import type { RecordMeta } from './stores/store.js';

/**
 * The record `instance` is written as, and the metadata the store may index,
 * taken from that very record so that no store parses one back. Throws
 * `NOT_SERIALIZABLE` when the state is not plain data and `SNAPSHOT_TOO_LARGE`
 * when it is over `maxBytes` of UTF-8, so a bad state is refused before it
 * reaches the store.
 *
 * @example
 * ```ts
 * const { text, meta } = encodeInstance(instance, 1_048_576);
 * await store.write(instance.id, text, meta);
 * ```
 */
export function encodeInstance(
  instance: Instance,
  maxBytes: number,
  stopping?: Parameters<Instance['toRecord']>[0],
): { text: string; meta: RecordMeta } {
  let text: string;
  let meta: RecordMeta;
  try {
    const record = instance.toRecord(stopping);
    assertRestorableTimers(instance.id, record.timers);
    // What the store may index, from the very record written (never parsed back).
    meta = {
      type: record.type,
      status: record.status,
      machineVersion: record.machineVersion,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
    text = encodeRecord(record);
  } catch (cause) {
    if (cause instanceof RegistryError) throw cause;
    throw new RegistryError(
      'NOT_SERIALIZABLE',
      `The state of instance '${instance.id}' cannot be stored (${(cause as Error)?.message ?? String(cause)}); keep functions, symbols and class instances out of its context and events.`,
      { cause, details: { id: instance.id } },
    );
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: most records need no count.
  const bytes = text.length * 3 <= maxBytes ? 0 : Buffer.byteLength(text);
  if (bytes > maxBytes) {
    throw new RegistryError(
      'SNAPSHOT_TOO_LARGE',
      `The state of instance '${instance.id}' is ${bytes} bytes, over the limit of ${maxBytes}; keep large data out of the actor's context, events and history, or raise maxRecordBytes (and the store's own limit, such as FileStore's maxFileBytes, if that is lower).`,
      { details: { id: instance.id, bytes, limit: maxBytes } },
    );
  }
  return { text, meta };
}

/**
 * A delayed event XState scheduled with a type or an id that is not a string
 * (`raise(() => ({ type: 42 }), { delay })`, `{ id: 7 }`), or from a child
 * spawned with an id that is not a string, runs, but a record
 * holding it is refused at load (an event needs a string type): it was
 * written, and the instance was set aside at the next start. Refused here, at
 * the write, naming the delayed event.
 */
function assertRestorableTimers(id: string, timers: readonly PersistedTimer[]): void {
  for (let i = 0; i < timers.length; i++) {
    const timer = timers[i] as PersistedTimer;
    if (isRestorableTimer(timer)) continue;
    const event = timer.event as { type?: unknown } | null;
    const what =
      typeof timer.id !== 'string'
        ? `an id that is not a string (${describeValue(timer.id)})`
        : !event || typeof event.type !== 'string'
          ? `an event whose type is not a string (${describeValue(event?.type)})`
          : 'a source or target actor whose id is not a string, or a due time out of range';
    throw new RegistryError(
      'NOT_SERIALIZABLE',
      `The state of instance '${id}' cannot be stored: its pending delayed event timers[${i}] has ${what}, which could not be scheduled again after a restart; give delayed events a string type and, if any, a string id, and child actors string ids. Nothing was written.`,
      { details: { id, path: `timers[${i}]` } },
    );
  }
}
