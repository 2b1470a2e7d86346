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
 * for (const r of (await store.listSetAside?.())?.items ?? []) console.log(r.key, r.id, r.reason);
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

/** Most set-aside entries one `listSetAside` call returns (PostgreSQL's old fixed cap). */
export const MAX_SET_ASIDE_LIMIT = 10_000;
/** Entries per `listSetAside` page when the caller names no `limit`. */
export const DEFAULT_SET_ASIDE_LIMIT = 1_000;

/**
 * Which page of set-aside entries to list: at most `limit` (1 to 10,000,
 * default 1,000), after the page that gave `cursor`.
 *
 * @example
 * ```ts
 * const next = await fileStore.listSetAside({ limit: 100, cursor: page.cursor ?? undefined });
 * ```
 */
export interface SetAsideQuery {
  limit?: number;
  cursor?: string;
}

/**
 * One page of set-aside entries, newest first; `cursor` asks for the next
 * page, and is `null` on the last one. A listing costs memory in proportion to
 * the page, never to everything set aside.
 *
 * @example
 * ```ts
 * for (let c: string | null | undefined; c !== null; ) {
 *   const page = await fileStore.listSetAside({ cursor: c });
 *   for (const r of page.items) console.log(r.key, r.reason);
 *   c = page.cursor;
 * }
 * ```
 */
export interface SetAsidePage {
  items: SetAsideRecord[];
  cursor: string | null;
}

/**
 * The page size a query asks for, checked: `INVALID_ARGUMENT` unless an
 * integer from 1 to {@link MAX_SET_ASIDE_LIMIT}.
 *
 * @example
 * ```ts
 * setAsideLimit({ limit: 50 }); // 50
 * ```
 */
export function setAsideLimit(query: SetAsideQuery | undefined): number {
  const limit = query?.limit ?? DEFAULT_SET_ASIDE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SET_ASIDE_LIMIT)
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `A set-aside listing's limit must be an integer from 1 to ${MAX_SET_ASIDE_LIMIT} (got ${String(limit)}); page with the cursor for more.`,
      { details: { limit } },
    );
  return limit;
}

/** A position in the newest-first order: entries sort by `at` descending, then `key`. */
interface SetAsidePosition {
  at: number;
  key: string;
}

function before(a: SetAsidePosition, b: SetAsidePosition): boolean {
  return a.at !== b.at ? a.at > b.at : a.key < b.key;
}

/**
 * The cursor of the page that ends with `last` (for stores that order by time
 * in milliseconds and key: the file and memory stores).
 *
 * @example
 * ```ts
 * const cursor = setAsideCursor({ at: 1764250000000, key: 'a.json' });
 * ```
 */
export function setAsideCursor(last: SetAsidePosition): string {
  return Buffer.from(JSON.stringify([last.at, last.key])).toString('base64url');
}

function decodeCursor(cursor: unknown): SetAsidePosition {
  if (typeof cursor !== 'string') throw badSetAsideCursor(cursor);
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && Number.isFinite(v[0]) && typeof v[1] === 'string')
      return { at: v[0] as number, key: v[1] };
  } catch {
    // reported below
  }
  throw badSetAsideCursor(cursor);
}

/**
 * The error for a cursor no listing gave.
 *
 * @example
 * ```ts
 * throw badSetAsideCursor('zzz');
 * ```
 */
export function badSetAsideCursor(cursor: unknown): RegistryError {
  // Any value may arrive from an untyped caller: described, never called into.
  const shown =
    typeof cursor === 'string'
      ? cursor.slice(0, 100)
      : `(${cursor === null ? 'null' : typeof cursor})`;
  return new RegistryError(
    'INVALID_ARGUMENT',
    `${JSON.stringify(shown)} is not a set-aside listing's cursor; list again without one.`,
    { details: { cursor: shown } },
  );
}

/**
 * Picks one page out of entries offered in any order (a directory's, a map's),
 * holding at most twice the page in memory however many are offered: the
 * newest `limit` after the cursor, and whether more follow.
 *
 * @example
 * ```ts
 * const pick = new SetAsidePicker<string>({ limit: 100 });
 * for await (const name of names) pick.offer({ at: timeOf(name), key: name }, name);
 * const { chosen, cursor } = pick.page();
 * ```
 */
export class SetAsidePicker<T> {
  readonly #limit: number;
  readonly #after: SetAsidePosition | undefined;
  #kept: Array<{ pos: SetAsidePosition; value: T }> = [];

  constructor(query: SetAsideQuery | undefined) {
    this.#limit = setAsideLimit(query);
    this.#after = query?.cursor === undefined ? undefined : decodeCursor(query.cursor);
  }

  /** Considers one entry; keeps it only while it may be on the page. */
  offer(pos: SetAsidePosition, value: T): void {
    if (this.#after && !before(this.#after, pos)) return;
    this.#kept.push({ pos, value });
    // One more than the page tells whether a next page exists.
    if (this.#kept.length >= 2 * (this.#limit + 1)) this.#trim();
  }

  /** The chosen entries, newest first, and the cursor of the next page (`null` if none). */
  page(): { chosen: T[]; cursor: string | null } {
    this.#trim();
    const more = this.#kept.length > this.#limit;
    const kept = this.#kept.slice(0, this.#limit);
    const last = kept[kept.length - 1];
    return {
      chosen: kept.map((k) => k.value),
      cursor: more && last ? setAsideCursor(last.pos) : null,
    };
  }

  #trim(): void {
    this.#kept.sort((a, b) => (before(a.pos, b.pos) ? -1 : before(b.pos, a.pos) ? 1 : 0));
    this.#kept.length = Math.min(this.#kept.length, this.#limit + 1);
  }
}
