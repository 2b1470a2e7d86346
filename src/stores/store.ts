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

/**
 * What a {@link ClusterStore} answers to a claim on an instance ID.
 *
 * @example
 * ```ts
 * const r: ClaimResult = await store.claim('order-7');
 * if (!r.owned) console.log('held by', r.owner, 'until', new Date(r.expiresAt));
 * ```
 */
export type ClaimResult =
  | {
      owned: true;
      epoch: number;
      text: string | undefined;
      /** The ID was never stored, and the claim stored the `initial` record it was given. */
      created?: true;
    }
  | { owned: false; owner: string; expiresAt: number };

/**
 * One page of stored records, for queries a cluster store serves itself.
 *
 * @example
 * ```ts
 * const page: StoredPage = await store.query({ status: ['running'], limit: 50 });
 * ```
 */
export interface StoredPage {
  texts: string[];
  cursor?: string;
}

/**
 * Filters a cluster store applies in its queries (the registry's `list()` filter, times in epoch ms).
 *
 * @example
 * ```ts
 * const query: StoreQuery = { status: ['running'], type: ['job'], limit: 50 };
 * ```
 */
export interface StoreQuery {
  status?: readonly string[];
  type?: readonly string[];
  createdFrom?: number;
  createdTo?: number;
  updatedFrom?: number;
  updatedTo?: number;
  limit: number;
  cursor?: string;
  /** Only IDs that start with this text (no wildcards). */
  idPrefix?: string;
  /** `'created'` (default): oldest created first; `'updated'`: newest updated first, then ID descending. */
  order?: 'created' | 'updated';
}

/**
 * A store shared by several processes, with per-ID ownership. A process hosts
 * an instance only while it holds that instance's lease; every write is fenced
 * by the epoch of its claim, so an owner that lost its lease can never overwrite
 * the newer owner's state (its write rejects with code `FENCED`).
 *
 * With a cluster store the registry loads nothing up front: it claims instances
 * as they are asked for, takes over those whose owner died (`orphans`), and
 * serves `getStatus`/`list` for instances hosted elsewhere from `read`/`query`.
 *
 * @example
 * ```ts
 * const store: ClusterStore = new PostgresStore({ connectionString, ownerId: 'worker-1' });
 * createRegistry({ machines, store });
 * ```
 */
export interface ClusterStore extends Store {
  /** This process's identity in leases. */
  readonly ownerId: string;
  /** How long a lease lasts unrenewed: bounds how long a call waits on a silent owner. */
  readonly leaseMs?: number;
  /** How many stored instances have each status (`registry.counts()`), counted by the store. */
  counts?(filter: { type?: readonly string[]; idPrefix?: string }): Promise<Record<string, number>>;
  /**
   * Takes (or keeps) the lease on `id`; answers who owns it otherwise. A new owner
   * gets a higher epoch. With `initial`, an ID never stored is stored with that
   * record in the same commit as its claim (the result says `created`).
   */
  claim(id: string, initial?: { text: string; meta: RecordMeta }): Promise<ClaimResult>;
  /** Gives up the lease on `id` (after close, or when the instance is not there). */
  release(id: string): Promise<void>;
  /**
   * IDs of running instances whose owner's lease has expired, oldest first;
   * with `decodable` (type → newest machine version this process has), only
   * those of a known type written by that version or an older one.
   */
  orphans(limit: number, decodable?: ReadonlyMap<string, number>): Promise<string[]>;
  query(query: StoreQuery): Promise<StoredPage>;
  /** Called when a lease this process held was lost (renewal failed or another process took over). Returns the unsubscribe. */
  onLeaseLost(listener: (id: string) => void): () => void;
  /** Called with background failures (connection errors, failed renewals). Returns the unsubscribe. */
  onError?(listener: (err: unknown) => void): () => void;
}

/**
 * Whether `store` is a {@link ClusterStore}.
 *
 * @example
 * ```ts
 * if (isClusterStore(store)) console.log('leases held as', store.ownerId);
 * ```
 */
export function isClusterStore(store: Store): store is ClusterStore {
  const s = store as Partial<ClusterStore>;
  return (
    typeof s.claim === 'function' &&
    typeof s.orphans === 'function' &&
    typeof s.query === 'function'
  );
}

/**
 * A request for an instance hosted by another process, as it waits in a
 * {@link ClusterInbox}: an event to deliver, a stop or a forced purge.
 */
export type MailBody =
  | { kind: 'event'; event: unknown; key: string }
  | { kind: 'stop'; reason?: string | undefined }
  | { kind: 'purge' };

/** A {@link MailBody} as stored, in posting order (`seq`). */
export interface Mail {
  seq: string;
  id: string;
  sender: string;
  /** The body's JSON text, parsed (and checked) by the registry, never by the store. */
  body: string;
}

/**
 * Mail between the processes of a cluster, kept in the shared store itself:
 * durable once `post` resolves, read by whoever hosts the instance, deleted
 * once applied. Listeners hear about new mail at once (PostgreSQL's
 * LISTEN/NOTIFY); sweeps (`mailForMe`) catch anything a listener missed.
 *
 * @example
 * ```ts
 * if (hasInbox(store)) await store.inbox.post('order-7', JSON.stringify({ kind: 'stop' }));
 * ```
 */
export interface ClusterInbox {
  /** Stores a message for `id` (durable once it resolves) and wakes the listeners. */
  post(id: string, body: string): Promise<void>;
  /** Up to `limit` messages for `id`, oldest first. */
  pending(id: string, limit: number): Promise<Mail[]>;
  /** Deletes delivered messages. */
  remove(seqs: readonly string[]): Promise<void>;
  /** IDs this process holds a lease on that have mail waiting. */
  mailForMe(): Promise<string[]>;
  /**
   * Deletes mail no process will ever apply (its instance is gone, or finished
   * and hosted by nobody) and returns it, so it can be reported.
   */
  dropUndeliverable(): Promise<Mail[]>;
  /**
   * Resolves once the first record of `id`, claimed by another process with no
   * record yet (being created there), has landed, or after `timeoutMs`,
   * whichever comes first; `cancel` stops waiting (it resolves at once). Call it
   * before reading the row, so that a record landing meanwhile is not missed.
   */
  recordLanded(id: string, timeoutMs: number): { landed: Promise<void>; cancel(): void };
  /**
   * Resolves once the owner of `id` has applied mail for it (the state it
   * recorded may be what a caller waits for), or after `timeoutMs`; like `recordLanded`.
   */
  changed(id: string, timeoutMs: number): { landed: Promise<void>; cancel(): void };
  /** Listens for mail posted for `id` and for instances given up by a closing process (`released`). Returns the unsubscribe. */
  onMail(listener: (id: string) => void, released: () => void): () => void;
}

/**
 * Whether `store` carries a {@link ClusterInbox}, through which any process
 * reaches an instance hosted by another.
 *
 * @example
 * ```ts
 * const inbox = hasInbox(store) ? store.inbox : undefined;
 * ```
 */
export function hasInbox(store: Store): store is ClusterStore & { inbox: ClusterInbox } {
  const s = store as Partial<ClusterStore> & { inbox?: unknown };
  return isClusterStore(store) && typeof s.inbox === 'object' && s.inbox !== null;
}
