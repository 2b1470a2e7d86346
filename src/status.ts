import type { SerializedError } from './errors.js';
import type { Instance } from './instance.js';
import { jsonViewText } from './json-view.js';
import type { PersistedTimer } from './persisted-timer.js';
import type { InstanceRecord, InstanceStatusName } from './record.js';
import {
  type ChildStatus,
  childStatuses,
  type TimerStatus,
  timerStatuses,
} from './status-detail.js';

/**
 * A JSON-serialisable view of one instance, modelled on Durable Functions'
 * `GetStatus`: safe to log, send over HTTP or keep; a copy, never live state.
 * The registry types `context` and `output` from the machine (see `StatusOf`).
 *
 * @example
 * ```ts
 * const status: InstanceStatus = (await registry.getStatus('nightly'))!;
 * console.log(status.status, status.value, status.context);
 * ```
 */
export interface InstanceStatus<
  TType extends string = string,
  TContext = unknown,
  TOutput = unknown,
> {
  id: string;
  type: TType;
  status: InstanceStatusName;
  /** The machine's state value, e.g. `'running'` or `{ upload: 'retrying' }`. */
  value: unknown;
  /** A JSON copy of the machine's context. */
  context: TContext;
  /** The machine's output, once `status` is `'done'`. */
  output?: TOutput;
  /** What went wrong, once `status` is `'error'`. */
  error?: SerializedError;
  /**
   * Set while the latest state cannot be stored (`NOT_SERIALIZABLE`, e.g. an
   * inline child actor, or `SNAPSHOT_TOO_LARGE`): `value` and `context` are the
   * live state, and a restart would resume from the last state that was stored.
   */
  persistError?: SerializedError;
  /** Why it was stopped, once `status` is `'stopped'`. */
  stopReason?: string;
  /** ISO 8601 times on the registry's clock. */
  createdAt: string;
  updatedAt: string;
  /** Its pending delayed events (its whole actor tree's), in the order they were scheduled. */
  timers: TimerStatus[];
  /** The live children of its root actor. */
  children: ChildStatus[];
}

/**
 * A JSON copy of a value as statuses show it: a BigInt as its digits, a Map
 * or Set as its entries, a cycle as `'[Circular]'` (what `getStatus` gives,
 * and the CLI prints).
 *
 * @example
 * ```ts
 * jsonCopy({ n: 2n, m: new Map([[1, 'a']]) }); // { n: '2', m: [[1, 'a']] }
 * ```
 */
export function jsonCopy(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    const text = jsonViewText(value);
    return text === undefined ? null : JSON.parse(text);
  } catch {
    // A getter that throws: nothing to show.
    return null;
  }
}

/**
 * Builds the status of an instance from its persisted snapshot (which already
 * renders child actors as references), or from `stored`, the snapshot read back
 * for a passivated instance (with `storedTimers`, its record's delayed events).
 *
 * @example
 * ```ts
 * const status = statusOf(instance); // { id, type, status, value, context, timers, children, ... }
 * ```
 */
export function statusOf(
  instance: Instance,
  stored?: unknown,
  storedTimers?: readonly PersistedTimer[],
): InstanceStatus {
  const snapshot = (stored ?? instance.viewSnapshot() ?? {}) as {
    value?: unknown;
    context?: unknown;
    output?: unknown;
  };
  const status: InstanceStatus = {
    id: instance.id,
    type: instance.type,
    status: instance.status,
    value: jsonCopy(snapshot.value) ?? null,
    context: jsonCopy(snapshot.context) ?? null,
    createdAt: new Date(instance.createdAt).toISOString(),
    updatedAt: new Date(instance.updatedAt).toISOString(),
    timers: timerStatuses(instance, stored === undefined ? undefined : (storedTimers ?? [])),
    children: childStatuses(snapshot),
  };
  if (instance.status === 'done') status.output = jsonCopy(snapshot.output) ?? null;
  if (instance.error) status.error = { ...instance.error };
  if (instance.stopReason !== undefined) status.stopReason = instance.stopReason;
  if (instance.persistError && stored === undefined) {
    const { code, message } = instance.persistError;
    status.persistError = { name: 'RegistryError', code, message };
  }
  return status;
}

/**
 * Builds the status of an instance from its stored record alone, without its
 * machine: how a process answers for a record it cannot decode (a type it does
 * not have, a newer machine version), which another process hosts.
 *
 * @example
 * ```ts
 * const status = statusOfRecord(parseRecord(text)); // { id, type, status, value, context, ... }
 * ```
 */
export function statusOfRecord(record: InstanceRecord): InstanceStatus {
  const snapshot = (record.snapshot ?? {}) as {
    value?: unknown;
    context?: unknown;
    output?: unknown;
  };
  const status: InstanceStatus = {
    id: record.id,
    type: record.type,
    status: record.status,
    value: jsonCopy(snapshot.value) ?? null,
    context: jsonCopy(snapshot.context) ?? null,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    timers: timerStatuses(undefined, record.status === 'running' ? record.timers : []),
    children: childStatuses(snapshot),
  };
  if (record.status === 'done') status.output = jsonCopy(snapshot.output) ?? null;
  if (record.error) status.error = { ...record.error };
  if (record.stopReason !== undefined) status.stopReason = record.stopReason;
  return status;
}
