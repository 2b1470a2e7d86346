import { chooseEncoding, decodeRich, encodeRich, type StateEncoding } from './codec.js';
import { RegistryError, type SerializedError } from './errors.js';
import { isStoredHistory, type StoredHistory } from './history.js';
import { type IdempotencyEntry, isIdempotencyEntries } from './idempotency.js';
import { isValidInstanceId } from './instance-id.js';
import type { PersistedTimer } from './persisted-timer.js';

/**
 * The format tag of the persisted envelope; bumped when its shape changes.
 * Version 2 added `encoding` (exact state); version 1 records still load.
 *
 * @example
 * ```ts
 * if (record.format !== RECORD_FORMAT) throw new Error('not a registry record');
 * ```
 */
export const RECORD_FORMAT = 'xstate-registry/2';
const RECORD_FORMAT_V1 = 'xstate-registry/1';

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
 * const text = await store.read('j1');
 * const record: InstanceRecord | undefined = text === undefined ? undefined : parseRecord(text);
 * console.log(record?.status, record?.machineVersion);
 * ```
 */
export interface InstanceRecord {
  format: typeof RECORD_FORMAT | typeof RECORD_FORMAT_V1;
  id: string;
  type: string;
  machineVersion: number;
  status: InstanceStatusName;
  createdAt: number;
  updatedAt: number;
  stopReason?: string;
  error?: SerializedError;
  /** How the state was written (set on records read back; {@link encodeRecord} picks it). */
  encoding?: StateEncoding;
  /** `actor.getPersistedSnapshot()`: feed back to `createActor(machine, { snapshot })`. */
  snapshot: unknown;
  timers: PersistedTimer[];
  /** Idempotency keys of applied events, oldest first (absent when there are none). */
  idempotencyKeys?: IdempotencyEntry[];
  /** The journal of its transitions, when its type keeps a history (absent otherwise). */
  history?: StoredHistory;
}

// Four string comparisons: cheaper than a Set lookup on every record read.
const isStatus = (s: unknown): s is InstanceStatusName =>
  s === 'running' || s === 'done' || s === 'error' || s === 'stopped';

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

/** How a CORRUPT_RECORD's message from {@link parseRecord} ends (a reader that moves nothing rewords it). */
export const MOVED_ASIDE = ' The record was moved aside; restore it by hand or delete it.';

function corrupt(message: string, cause?: unknown): RegistryError {
  return new RegistryError(
    'CORRUPT_RECORD',
    `${message}${MOVED_ASIDE}`,
    cause === undefined ? {} : { cause },
  );
}

/** The largest time a `Date` can hold (±8.64e15 ms): beyond it `toISOString()` throws. */
const MAX_TIME = 8.64e15;
const isTime = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_TIME;
/**
 * A pending delayed event's due time: the clock's time plus whatever delay the
 * machine chose, so past any date (1e20 ms), Infinity (due never), or before
 * 1970 with a clock that starts there; never NaN (see the scheduler).
 */
const isDueTime = (v: unknown): v is number =>
  typeof v === 'number' && (Number.isFinite(v) || v === Number.POSITIVE_INFINITY);

/**
 * The JSON text of a record. The state (snapshot and pending delayed events) is
 * written as plain JSON when it is plain JSON (`"encoding": "json"`, with
 * `snapshot` and `timers` as in version 1), and in devalue's flat form otherwise
 * (`"encoding": "devalue"`, both under `state`), so it comes back exactly. The
 * envelope's other fields are written as they are, so new ones need no change
 * here. Throws `NOT_SERIALIZABLE` naming the path of a value no encoding holds.
 *
 * @example
 * ```ts
 * await store.write(record.id, encodeRecord(record));
 * ```
 */
export function encodeRecord(record: InstanceRecord): string {
  // The record itself holds snapshot and timers: no state object to build on the hot path.
  if (chooseEncoding(record) === 'json') {
    // The hot path: a record as the registry builds it is written by one
    // JSON.stringify of the object itself (copying it first costs a fifth more).
    if (record.format === RECORD_FORMAT && record.encoding === undefined)
      return `{"encoding":"json",${JSON.stringify(record).slice(1)}`;
    // A record read back (parseRecord keeps its encoding) is written as it is too.
    if (record.format === RECORD_FORMAT && record.encoding === 'json')
      return JSON.stringify(record);
    return JSON.stringify({ ...record, format: RECORD_FORMAT, encoding: 'json' });
  }
  const { snapshot, timers, ...envelope } = record;
  const rich = encodeRich({ snapshot, timers }, record.id);
  const head = JSON.stringify({ ...envelope, format: RECORD_FORMAT, encoding: 'devalue' });
  return `${head.slice(0, -1)},"state":${rich}}`;
}

/** A timer's source or target: child IDs from the root, each a string. */
/**
 * Whether a pending delayed event can be scheduled again from a record: what
 * the loader requires of each, and the write refuses (see encodeInstance), so
 * that nothing is written that the next start would set aside.
 *
 * @example
 * ```ts
 * isRestorableTimer({ id: 'ping', source: [], target: [], event: { type: 'PING' }, dueAt: 0 }); // true
 * ```
 */
export function isRestorableTimer(t: unknown): boolean {
  const timer = t as Partial<PersistedTimer> | null;
  return !(
    !timer ||
    typeof timer.id !== 'string' ||
    !isPath(timer.source) ||
    !isPath(timer.target) ||
    !timer.event ||
    typeof timer.event.type !== 'string' ||
    !isDueTime(timer.dueAt) ||
    (timer.uncancellable !== undefined && timer.uncancellable !== true)
  );
}

function isPath(path: unknown): path is string[] {
  if (!Array.isArray(path)) return false;
  // A loop, not every(): the rich encoding can store holes, which every() skips.
  for (let i = 0; i < path.length; i++) if (typeof path[i] !== 'string') return false;
  return true;
}

function decodeState(r: Record<string, unknown>): void {
  // Version 1 had no encoding; a version-2 record without one is plain JSON too.
  const encoding = (
    r.format === RECORD_FORMAT_V1 ? 'json' : (r.encoding ?? 'json')
  ) as StateEncoding;
  if (encoding === 'json') return;
  if (encoding !== 'devalue')
    throw corrupt(`The record has an unknown state encoding ${JSON.stringify(r.encoding)}.`);
  try {
    const state = decodeRich(r.state);
    r.snapshot = state.snapshot;
    r.timers = state.timers;
    delete r.state;
  } catch (err) {
    throw corrupt(`The record's encoded state is damaged (${(err as Error).message}).`, err);
  }
}

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
  if (r.format !== RECORD_FORMAT && r.format !== RECORD_FORMAT_V1)
    throw corrupt(
      `Unknown record format ${JSON.stringify(r.format)}; expected "${RECORD_FORMAT}" (or "${RECORD_FORMAT_V1}"). A newer xstate-registry may have written it.`,
    );
  if (!isValidInstanceId(r.id)) throw corrupt('The record has no valid instance id.');
  if (typeof r.type !== 'string' || r.type === '') throw corrupt('The record has no machine type.');
  if (!Number.isInteger(r.machineVersion) || (r.machineVersion as number) < 1)
    throw corrupt('The record has no valid machineVersion.');
  if (!isStatus(r.status))
    throw corrupt(`The record has an unknown status ${JSON.stringify(r.status)}.`);
  if (!isTime(r.createdAt) || !isTime(r.updatedAt))
    throw corrupt(
      `The record has invalid createdAt/updatedAt times (${String(r.createdAt)}, ${String(r.updatedAt)}); times are epoch milliseconds between 0 and ${MAX_TIME}.`,
    );
  if (r.stopReason !== undefined && typeof r.stopReason !== 'string')
    throw corrupt('The record has a stopReason that is not a string.');
  if (
    r.error !== undefined &&
    (!r.error ||
      typeof (r.error as SerializedError).name !== 'string' ||
      typeof (r.error as SerializedError).message !== 'string')
  )
    throw corrupt('The record has a malformed error (it needs a name and a message).');
  decodeState(r);
  if (!r.snapshot || typeof r.snapshot !== 'object') throw corrupt('The record has no snapshot.');
  if (!Array.isArray(r.timers)) throw corrupt('The record has no timers array.');
  for (const t of r.timers as unknown[]) {
    if (!isRestorableTimer(t)) {
      throw corrupt(
        'The record has a malformed pending delayed event (it needs an id, source and target paths of child IDs (strings), an event with a type, a due time (a number), and `uncancellable` true or absent).',
      );
    }
  }
  if (r.idempotencyKeys !== undefined && !isIdempotencyEntries(r.idempotencyKeys))
    throw corrupt('The record has malformed idempotencyKeys (expected [key, appliedAt] pairs).');
  if (r.history !== undefined && !isStoredHistory(r.history))
    throw corrupt(
      'The record has a malformed history (expected { seq, entries } with entries in increasing seq, each with at, source and event.type).',
    );
  return r as unknown as InstanceRecord;
}
