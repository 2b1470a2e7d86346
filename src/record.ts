import { RegistryError, type SerializedError } from './errors.js';
import { type IdempotencyEntry, isIdempotencyEntries } from './idempotency.js';
import { isValidInstanceId } from './instance-id.js';
import type { PersistedTimer } from './xstate-internals.js';

/**
 * The format tag of the persisted envelope; bumped when its shape changes.
 *
 * @example
 * ```ts
 * if (record.format !== RECORD_FORMAT) throw new Error('not a registry record');
 * ```
 */
export const RECORD_FORMAT = 'xstate-registry/1';

/**
 * The lifecycle of an instance as the registry reports it.
 *
 * @example
 * ```ts
 * await registry.waitFor('j1', ['done', 'error'] satisfies InstanceStatusName[]);
 * ```
 */
export type InstanceStatusName = 'running' | 'done' | 'error' | 'stopped';

/**
 * What is persisted per instance: our versioned envelope around XState's
 * persisted snapshot, plus what XState does not persist (pending delayed events).
 * Times are epoch milliseconds on the registry's clock.
 *
 * @example
 * ```ts
 * const record: InstanceRecord = parseRecord(await store.read('j1'));
 * console.log(record.status, record.machineVersion);
 * ```
 */
export interface InstanceRecord {
  format: typeof RECORD_FORMAT;
  id: string;
  type: string;
  machineVersion: number;
  status: InstanceStatusName;
  createdAt: number;
  updatedAt: number;
  stopReason?: string;
  error?: SerializedError;
  /** `actor.getPersistedSnapshot()`: feed back to `createActor(machine, { snapshot })`. */
  snapshot: unknown;
  timers: PersistedTimer[];
  /** Idempotency keys of applied events, oldest first (absent when there are none). */
  idempotencyKeys?: IdempotencyEntry[];
}

const STATUSES = new Set<InstanceStatusName>(['running', 'done', 'error', 'stopped']);

// A parsed own `__proto__` key is harmless until XState's `assign` copies the
// context with Object.assign, which would then re-parent it. Such keys never
// come out of JSON.stringify of a real snapshot, so they are dropped on load.
function dropProtoKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/**
 * Parses JSON without ever producing an own `__proto__` key.
 *
 * @example
 * ```ts
 * safeJsonParse('{"__proto__":{"admin":true},"a":1}'); // { a: 1 }
 * ```
 */
export function safeJsonParse(text: string): unknown {
  // The reviver makes parsing several times slower; only text that could spell
  // `__proto__` (literally or through a \u escape) needs it.
  if (!text.includes('__proto__') && !text.includes('\\u')) return JSON.parse(text);
  return JSON.parse(text, dropProtoKeys);
}

function corrupt(message: string, cause?: unknown): RegistryError {
  return new RegistryError(
    'CORRUPT_RECORD',
    `${message} The record was moved aside; restore it by hand or delete it.`,
    cause === undefined ? {} : { cause },
  );
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Parses and validates a stored record; throws `CORRUPT_RECORD` with what is
 * wrong. Stores hand the registry text; only this function decides what is valid.
 *
 * @example
 * ```ts
 * const record = parseRecord(await readFile(store.pathOf('nightly'), 'utf8'));
 * console.log(record.status, record.timers.map((t) => new Date(t.dueAt)));
 * ```
 */
export function parseRecord(text: string): InstanceRecord {
  let raw: unknown;
  try {
    raw = safeJsonParse(text);
  } catch (err) {
    throw corrupt('The stored record is not valid JSON (truncated or damaged).', err);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw corrupt('The stored record is not a JSON object.');
  const r = raw as Record<string, unknown>;
  if (r.format !== RECORD_FORMAT)
    throw corrupt(
      `Unknown record format ${JSON.stringify(r.format)}; expected "${RECORD_FORMAT}".`,
    );
  if (!isValidInstanceId(r.id)) throw corrupt('The record has no valid instance id.');
  if (typeof r.type !== 'string' || r.type === '') throw corrupt('The record has no machine type.');
  if (!Number.isInteger(r.machineVersion) || (r.machineVersion as number) < 1)
    throw corrupt('The record has no valid machineVersion.');
  if (!STATUSES.has(r.status as InstanceStatusName))
    throw corrupt(`The record has an unknown status ${JSON.stringify(r.status)}.`);
  if (!isTime(r.createdAt) || !isTime(r.updatedAt))
    throw corrupt('The record has invalid createdAt/updatedAt times.');
  if (!r.snapshot || typeof r.snapshot !== 'object') throw corrupt('The record has no snapshot.');
  if (!Array.isArray(r.timers)) throw corrupt('The record has no timers array.');
  for (const t of r.timers as unknown[]) {
    const timer = t as Partial<PersistedTimer> | null;
    if (
      !timer ||
      typeof timer.id !== 'string' ||
      !Array.isArray(timer.source) ||
      !Array.isArray(timer.target) ||
      !timer.event ||
      typeof timer.event.type !== 'string' ||
      !isTime(timer.dueAt)
    ) {
      throw corrupt('The record has a malformed pending delayed event.');
    }
  }
  if (r.idempotencyKeys !== undefined && !isIdempotencyEntries(r.idempotencyKeys))
    throw corrupt('The record has malformed idempotencyKeys (expected [key, appliedAt] pairs).');
  return r as unknown as InstanceRecord;
}
