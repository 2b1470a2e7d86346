import type { RegistryError } from '../errors.js';
import type { SetAsidePage, SetAsideQuery } from './set-aside-record.js';

export {
  badSetAsideCursor,
  DEFAULT_SET_ASIDE_LIMIT,
  idInText,
  MAX_SET_ASIDE_LIMIT,
  recordedAgain,
  type SetAsidePage,
  SetAsidePicker,
  type SetAsideQuery,
  type SetAsideRecord,
  setAsideCursor,
  setAsideLimit,
  setAsideRecord,
  unknownSetAside,
} from './set-aside-record.js';

/**
 * A store's own name for a stored entry (a file name, a row key), which
 * `load()` yields and `quarantine()` takes. Not an instance ID: a file store
 * names the entry of ID `a/b` differently, and the two must never be mixed up,
 * so the type keeps them apart. Make one with {@link storeKey}.
 *
 * @example
 * ```ts
 * const key: StoreKey = storeKey(fileName);
 * ```
 */
export type StoreKey = string & { readonly __storeKey: true };

/**
 * Marks a store's own entry name as a {@link StoreKey} (for store implementations).
 *
 * @example
 * ```ts
 * yield { kind: 'record', key: storeKey(name), text };
 * ```
 */
export function storeKey(name: string): StoreKey {
  return name as StoreKey;
}

/**
 * One stored entry as a store hands it to the registry at start, under its
 * store-specific `key`: its record's text, or why it could not be read.
 *
 * @example
 * ```ts
 * for await (const entry of store.load()) {
 *   if (entry.kind === 'record') console.log(entry.key, entry.text.length);
 *   else console.warn(entry.key, entry.error);
 * }
 * ```
 */
export type StoredEntry =
  | { kind: 'record'; key: StoreKey; text: string }
  | { kind: 'unreadable'; key: StoreKey; error: unknown };

/**
 * What a store's `load()` may return instead of a plain async iterable: the
 * same entries, which `start()` then reads a batch at a time (over 100,000
 * entries, an await per entry costs more than the registry's checks of it).
 * A subclass that overrides `load()` with a plain generator is read entry by entry.
 *
 * @example
 * ```ts
 * const entries = store.load();
 * if (isBatched(entries)) for await (const batch of entries.batches()) console.log(batch.length);
 * ```
 */
export interface BatchedEntries extends AsyncIterable<StoredEntry> {
  batches(): AsyncIterable<readonly StoredEntry[]>;
}

/**
 * Whether `load()` returned {@link BatchedEntries}.
 *
 * @example
 * ```ts
 * const batches = isBatched(entries) ? entries.batches() : undefined;
 * ```
 */
export function isBatched(entries: AsyncIterable<StoredEntry>): entries is BatchedEntries {
  return typeof (entries as Partial<BatchedEntries>).batches === 'function';
}

/**
 * What a store may index a record by, handed over with every write so that no
 * store parses records: the same values as the record's envelope.
 *
 * @example
 * ```ts
 * await store.write('order-7', text, { type: 'order', status: 'running', machineVersion: 1, createdAt, updatedAt });
 * ```
 */
export interface RecordMeta {
  type: string;
  /** `running`, `done`, `error` or `stopped`. */
  status: string;
  machineVersion: number;
  /** Epoch milliseconds on the registry's clock. */
  createdAt: number;
  updatedAt: number;
}

/**
 * Where a registry keeps its instances. Deliberately small and dumb: stores move
 * opaque JSON text by instance ID; the registry alone parses, validates, migrates
 * and decides what to quarantine. The registry core never imports a concrete store.
 *
 * Contract (checked by `test/store-contract.ts` against every store):
 * - `open()` takes ownership; a second owner of the same storage fails with `STORE_LOCKED`.
 * - `write(id, text, meta)` replaces the entry for `id` atomically: after a crash, a
 *   reader sees the old text or the new, never a mix. Once it resolves, the text
 *   survives a crash of the process. `meta` carries what a store may index
 *   (status, type, times, machine version), so that it never parses `text`.
 * - `load()` yields every entry written and not removed or quarantined.
 * - `read(id)` returns the text last written for `id` (`undefined` if none).
 * - `remove(id)` forgets the entry; `quarantine(key)` moves it aside without
 *   deleting it, so `load()` no longer yields it.
 * - Calls for one ID are issued one at a time by the registry; calls for
 *   different IDs may run concurrently.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ machines, store: new FileStore({ dir: './data' }) });
 * ```
 */
export interface Store {
  /**
   * The largest record (UTF-8 bytes) this store writes and loads back, if it
   * has a limit of its own (the file store's `maxFileBytes`): the registry
   * refuses larger states before writing (`SNAPSHOT_TOO_LARGE`), as it does
   * past `maxRecordBytes`, so nothing is written that the next start would set aside.
   */
  readonly maxRecordBytes?: number;
  open(): Promise<void>;
  load(): AsyncIterable<StoredEntry>;
  read(id: string): Promise<string | undefined>;
  write(id: string, text: string, meta: RecordMeta): Promise<void>;
  remove(id: string): Promise<void>;
  quarantine(key: StoreKey, reason: string): Promise<void>;
  close(): Promise<void>;
  /**
   * The key under which `load()` yields the record of `id`. A record found under
   * any other key (a copied or renamed file) is set aside at load, never loaded
   * in place of the real one. Stores without it are trusted to key by ID.
   */
  keyOf?(id: string): StoreKey;
  /**
   * Subscribes to damage the store repaired but cannot make good alone (its
   * entries were deleted from outside): the owner should write again every
   * entry it holds. Returns the unsubscribe function.
   */
  onDamaged?(listener: (error: RegistryError) => void): () => void;
  /**
   * A page of the entries `quarantine()` moved aside, newest first, for
   * operators to look at (`GET /quarantine`, the CLI's `quarantine ls`): at
   * most `query.limit` (default 1,000, at most 10,000; `INVALID_ARGUMENT`
   * otherwise), after the page that gave `query.cursor`, in memory bounded by
   * the page however many are set aside. Optional.
   */
  listSetAside?(query?: SetAsideQuery): Promise<SetAsidePage>;
  /**
   * Moves a set-aside entry back to where `load()` finds it (the next start
   * loads it; fix the cause first, or it is set aside again). Refuses with
   * `INSTANCE_EXISTS` if its ID has a record again, and `INVALID_ARGUMENT` for
   * an unknown key; never overwrites anything. Optional.
   */
  restoreSetAside?(key: string): Promise<void>;
}
