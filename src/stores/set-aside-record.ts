/**
 * What every store that sets records aside shares: the listing of one entry,
 * and the errors of restoring one.
 */
import { RegistryError } from '../errors.js';

/**
 * One entry a store set aside: its key in the quarantine (what
 * `restoreSetAside` takes), the instance ID when the text names one, why, and when.
 *
 * @example
 * ```ts
 * for (const r of await store.listSetAside?.() ?? []) console.log(r.key, r.id, r.reason);
 * ```
 */
export interface SetAsideRecord {
  key: string;
  id?: string;
  reason: string;
  /** Epoch milliseconds. */
  at: number;
  /** Size of the stored text, in bytes. */
  bytes: number;
}

/**
 * The instance ID a stored text names, if it parses as a record envelope; for
 * listing set-aside entries, which may be anything.
 *
 * @example
 * ```ts
 * idInText('{"id":"order-7","type":"order"}'); // 'order-7'
 * ```
 */
export function idInText(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The error for a `restoreSetAside` key that names nothing set aside.
 *
 * @example
 * ```ts
 * throw unknownSetAside('abc.json');
 * ```
 */
export function unknownSetAside(key: string): RegistryError {
  return new RegistryError(
    'INVALID_ARGUMENT',
    `Nothing set aside under key ${JSON.stringify(key)}; list the keys with listSetAside() (CLI: quarantine ls).`,
    { details: { key } },
  );
}

/**
 * The listing of one set-aside record: its ID when its text names one, and its
 * size (0 when the text could not be read).
 *
 * @example
 * ```ts
 * out.push(setAsideRecord(key, text, 'DECODE_FAILED: not JSON', Date.now()));
 * ```
 */
export function setAsideRecord(
  key: string,
  text: string | undefined,
  reason: string,
  at: number,
): SetAsideRecord {
  const id = text === undefined ? undefined : idInText(text);
  return {
    key,
    ...(id !== undefined ? { id } : {}),
    reason,
    at,
    bytes: text === undefined ? 0 : Buffer.byteLength(text),
  };
}

/**
 * The error for restoring a set-aside record whose ID has a record again.
 *
 * @example
 * ```ts
 * if (entries.has(id)) throw recordedAgain(id);
 * ```
 */
export function recordedAgain(id: string): RegistryError {
  return new RegistryError(
    'INSTANCE_EXISTS',
    `Instance ${JSON.stringify(id)} has a record again; purge it first if the set-aside one should replace it.`,
    { details: { id, status: 'stored' } },
  );
}
