import type { RecordMeta, Store } from './store.js';

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
      /** The size of a stored record too large to read (`text` is then undefined): never fetched. */
      oversized?: number;
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
