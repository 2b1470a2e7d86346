import type pg from 'pg';
import { RegistryError } from '../errors.js';
import type { ClaimResult, ClusterStore, StoredPage, StoreQuery } from './cluster-store.js';
import { databaseFailed } from './postgres-failure.js';
import { PostgresInbox } from './postgres-inbox.js';
import { claimStatement, orphanIds, releaseAllRows, releaseRow } from './postgres-lease.js';
import { LeaseBook } from './postgres-lease-book.js';
import { countByStatus, queryPage } from './postgres-list.js';
import {
  assertStorableId,
  columnsOf,
  deleteFencedRow,
  fencedError,
  LONE_SURROGATE,
  loadRows,
  oversizedRecord,
  quarantineRow,
  readRow,
} from './postgres-row.js';
import { checkSchema, migrateSchema } from './postgres-schema.js';
import { listSetAside, restoreSetAside } from './postgres-set-aside.js';
import {
  type PostgresPools,
  type PostgresStoreOptions,
  resolvePostgresOptions,
} from './postgres-store-options.js';
import { PostgresWriteBatch, type RowWrite } from './postgres-write-batch.js';
import {
  type RecordMeta,
  type SetAsidePage,
  type SetAsideQuery,
  type StoredEntry,
  storeKey,
} from './store.js';

export type { PostgresStoreOptions };

/**
 * Keeps instances in PostgreSQL and lets several processes share them safely:
 * per-ID leases (owner, expiry, and a fencing epoch that grows with each new
 * owner), fenced writes, lease renewal, and the queries that serve `getStatus`
 * and `list` without loading instances. Load it from `xstate-registry/postgres`
 * so that only its users need `pg` (an optional peer dependency).
 *
 * @example
 * ```ts
 * import { createRegistry } from 'xstate-registry';
 * import { PostgresStore } from 'xstate-registry/postgres';
 *
 * const registry = createRegistry({ machines, store: new PostgresStore({ connectionString: process.env.DATABASE_URL }) });
 * await registry.start(); // creates or migrates the schema on first use
 * ```
 */
export class PostgresStore implements ClusterStore {
  readonly ownerId: string;
  /** How long a lease lasts unrenewed. */
  get leaseMs(): number {
    return this.#leaseMs;
  }
  /** Mail for instances hosted by other processes (see {@link PostgresInbox}). */
  readonly inbox: PostgresInbox;
  /** The pools in use, read by the store's parts at each use; see {@link PostgresPools}. */
  readonly #pools: PostgresPools;
  readonly #owns: { main: boolean; renewal: boolean };
  readonly #makePools: () => PostgresPools;
  /** Whether close() ended the pools the store made: open() makes new ones. */
  #ended = false;
  readonly #t: string;
  /** The largest record it reads (and so the registry writes); see {@link PostgresStoreOptions.maxRecordBytes}. */
  readonly maxRecordBytes: number;
  readonly #leaseMs: number;
  readonly #leases: LeaseBook;
  readonly #batch: PostgresWriteBatch;
  readonly #claimSql: string;
  readonly #lostListeners = new Set<(id: string) => void>();
  readonly #errorListeners = new Set<(err: unknown) => void>();
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #open = false;
  /** Opened by {@link PostgresStore.openReadOnly}. */
  #readOnly = false;
  /** An open() under way: a second one is refused as if the first had finished. */
  #opening = false;
  /** Takes the store's 'error' listeners off its pools: all of them, or with `all: false` only the user's. */
  #unhearPools: ((all?: boolean) => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: PostgresStoreOptions) {
    const { table, leaseMs, ownerId, owns, makePools, maxRecordBytes } =
      resolvePostgresOptions(options);
    this.#t = table;
    this.maxRecordBytes = maxRecordBytes;
    this.#leaseMs = leaseMs;
    this.ownerId = ownerId;
    this.#owns = owns;
    this.#makePools = makePools;
    this.#pools = makePools();
    this.#claimSql = claimStatement(table, maxRecordBytes);
    this.#leases = new LeaseBook(this.#pools, table, ownerId, leaseMs, {
      onLost: (id) => {
        for (const listener of this.#lostListeners) listener(id);
      },
      onError: (err) => this.#reportError(err),
    });
    this.#batch = new PostgresWriteBatch(
      this.#pools,
      table,
      this.ownerId,
      this.#leaseMs,
      `${table}_inbox`,
    );
    this.inbox = new PostgresInbox(
      this.#pools,
      table,
      this.ownerId,
      (err) => this.#reportError(err),
      maxRecordBytes,
    );
  }

  /** Listens for connection errors and failed renewals (the registry reports them as `error` events). Returns the unsubscribe. */
  onError(listener: (err: unknown) => void): () => void {
    const own = (err: unknown) => listener(err);
    this.#errorListeners.add(own);
    return () => this.#errorListeners.delete(own);
  }

  /** Listens for leases this process lost. Returns the unsubscribe. */
  onLeaseLost(listener: (id: string) => void): () => void {
    const own = (id: string) => listener(id);
    this.#lostListeners.add(own);
    return () => this.#lostListeners.delete(own);
  }

  async open(): Promise<void> {
    // A close still under way (a registry closing while the next one starts
    // over this store) ends the pools it found: open after it, not beside it.
    await this.#closing?.catch(() => {});
    // Two registries over one store object would share its owner ID, and so
    // its leases: both would host the same instances. Each needs its own store.
    if (this.#open || this.#opening) {
      throw new RegistryError(
        'STORE_LOCKED',
        'This PostgresStore is already open (a running registry uses it); give each registry its own PostgresStore. Several may share one database and table.',
      );
    }
    this.#opening = true;
    try {
      await this.#openOnce();
    } finally {
      this.#opening = false;
    }
  }

  /**
   * Opens for reading alone, as the CLI's `ls` and `show` do: the table must
   * already exist at this package's schema version ({@link checkSchema}), and
   * nothing is created, migrated or leased. Before, reading ran the store's
   * whole setup: a mistyped table name created a fresh set of tables, and a
   * schema-1 table was migrated (rewritten under an exclusive lock) by a read.
   */
  async openReadOnly(): Promise<void> {
    await this.#closing?.catch(() => {});
    if (this.#open || this.#opening)
      throw new RegistryError('STORE_LOCKED', 'This PostgresStore is already open.');
    if (this.#ended) {
      Object.assign(this.#pools, this.#makePools());
      this.#ended = false;
    }
    this.#hearPools();
    try {
      await this.checkSchema();
    } catch (err) {
      this.#unhearPools?.(false);
      throw err;
    }
    this.#open = true;
    this.#readOnly = true;
  }

  /** {@link checkSchema} on this store's table: changes nothing. */
  checkSchema(): Promise<void> {
    return checkSchema(this.#pools.main, this.#t);
  }

  async #openOnce(): Promise<void> {
    // Opened again after close() (a registry retrying its start, or a new
    // registry over this store): the pools the store made were ended.
    if (this.#ended) {
      Object.assign(this.#pools, this.#makePools());
      this.#ended = false;
    }
    // Heard from here until close(). After a failed open, the pools this
    // store made are still heard (they may hold idle clients whose server can
    // go away, and only close() ends them), but not yours: a registry that
    // failed to open a store never closes it, so a retry loop over one pool
    // of yours would collect a listener per try.
    this.#hearPools();
    try {
      await migrateSchema(this.#pools.main, this.#t);
      await this.inbox.open();
    } catch (err) {
      this.#unhearPools?.(false);
      throw err;
    }
    this.#open = true;
    this.#renewTimer = setInterval(
      () => {
        if (this.#open) void this.#leases.renew();
      },
      Math.max(100, this.#leaseMs / 3),
    );
    this.#renewTimer.unref();
  }

  /**
   * Takes the lease on `id` in one statement. A refusal is answered from the
   * same statement's read of the row: it neither locks the row nor commits.
   * With `initial` (a new instance's first record), an ID never stored is
   * inserted with it, so that creating an instance is one commit (`created`).
   */
  async claim(id: string, initial?: { text: string; meta: RecordMeta }): Promise<ClaimResult> {
    this.#assertWritable();
    assertStorableId(id);
    return this.#leases
      .claim(this.#claimSql, id, initial)
      .catch(databaseFailed(`claim instance '${id}'`));
  }

  async release(id: string): Promise<void> {
    this.#leases.bare.delete(id);
    // Given up already by the finishing write, in the same commit.
    if (this.#leases.released.delete(id)) return;
    this.#leases.epochs.delete(id);
    await releaseRow(this.#pools.main, this.#t, id, this.ownerId).catch(
      databaseFailed(`give up the lease of instance '${id}'`),
    );
  }

  async *load(): AsyncIterable<StoredEntry> {
    this.#assertOpen();
    for (const row of await loadRows(this.#pools.main, this.#t, this.maxRecordBytes))
      yield row.record === null
        ? {
            kind: 'unreadable',
            key: storeKey(row.id),
            error: oversizedRecord(row.id, Number(row.bytes), this.maxRecordBytes),
          }
        : { kind: 'record', key: storeKey(row.id), text: row.record };
  }

  async read(id: string): Promise<string | undefined> {
    this.#assertOpen();
    // Never stored (claim refuses it); querying would match the row of another ID.
    if (LONE_SURROGATE.test(id)) return undefined;
    return readRow(this.#pools.main, this.#t, id, this.maxRecordBytes).catch(
      databaseFailed(`read the record of instance '${id}'`),
    );
  }

  async write(id: string, text: string, meta: RecordMeta): Promise<void> {
    this.#assertWritable();
    const r = columnsOf(id, text, meta);
    const epoch = this.#leases.epochs.get(id) ?? this.#leases.released.get(id);
    if (epoch === undefined) throw this.#fenced(id, 'this process holds no lease on it');
    // A finished instance needs no host: its final record gives up the lease.
    // Out of the renewed set at once, so a renewal racing this write does not
    // mistake the released row for a lost lease.
    const final = meta.status !== 'running';
    if (final) {
      this.#leases.epochs.delete(id);
      this.#leases.released.set(id, epoch);
    }
    const announce = this.#leases.bare.delete(id);
    const applied = await this.#batch.write({ id, text, ...r, epoch, final, announce } as RowWrite);
    if (!applied) {
      this.#leases.epochs.delete(id);
      this.#leases.released.delete(id);
      throw this.#fenced(id, 'another process took it over');
    }
    if (!final && this.#leases.released.get(id) === epoch) {
      // Written again after finishing (replaced): the lease is held again.
      this.#leases.released.delete(id);
      this.#leases.epochs.set(id, epoch);
    }
  }

  async remove(id: string): Promise<void> {
    this.#assertWritable();
    const epoch = this.#leases.epochs.get(id) ?? this.#leases.released.get(id);
    if (epoch === undefined) throw this.#fenced(id, 'this process holds no lease on it');
    // Out of the lease book while the row goes (not renewed, not announced)...
    const released = this.#leases.released.get(id);
    const held = this.#leases.epochs.delete(id);
    this.#leases.released.delete(id);
    const bare = this.#leases.bare.delete(id);
    let deleted: boolean;
    try {
      deleted = await deleteFencedRow(this.#pools.main, this.#t, id, this.ownerId, epoch);
    } catch (err) {
      // ...and back in it if the DELETE failed: the instance stays this
      // process's, as it was, and its next write is fenced by the same epoch.
      if (held) this.#leases.epochs.set(id, epoch);
      if (released !== undefined) this.#leases.released.set(id, released);
      if (bare) this.#leases.bare.add(id);
      throw err;
    }
    // No row deleted: another process took the instance over, and its row is its own now.
    if (!deleted) throw this.#fenced(id, 'another process took it over');
  }

  async quarantine(key: string, reason: string): Promise<void> {
    this.#assertWritable();
    await quarantineRow(this.#pools.main, this.#t, key, reason).catch(
      databaseFailed(`set the row '${key}' aside`),
    );
    this.#leases.epochs.delete(key);
    this.#leases.released.delete(key);
  }

  /**
   * The rows `quarantine()` moved aside, newest first. The key names the row by
   * its ID and the moment (in microseconds) it was set aside. (Restoring is not
   * offered here yet: a row needs its lease columns rebuilt.)
   */
  async listSetAside(query?: SetAsideQuery): Promise<SetAsidePage> {
    this.#assertOpen();
    return listSetAside(this.#pools.main, this.#t, query).catch(
      databaseFailed('list the rows set aside'),
    );
  }
  /** Puts a quarantined row back, hosted by nobody (see postgres-set-aside.ts). */
  async restoreSetAside(key: string): Promise<void> {
    this.#assertWritable();
    return restoreSetAside(this.#pools.main, this.#t, key, this.maxRecordBytes).catch(
      databaseFailed(`put the row '${key}' back`),
    );
  }

  async orphans(limit: number, decodable?: ReadonlyMap<string, number>): Promise<string[]> {
    this.#assertOpen();
    return orphanIds(this.#pools.main, this.#t, limit, decodable).catch(
      databaseFailed('look for instances whose owner died'),
    );
  }

  async query(q: StoreQuery): Promise<StoredPage> {
    this.#assertOpen();
    return queryPage(this.#pools.main, this.#t, q, this.maxRecordBytes).catch(
      databaseFailed('list instances'),
    );
  }

  /** How many stored instances have each status, by SQL (`count(*) GROUP BY status`). */
  async counts(filter: {
    type?: readonly string[];
    idPrefix?: string;
  }): Promise<Record<string, number>> {
    this.#assertOpen();
    return countByStatus(this.#pools.main, this.#t, filter).catch(
      databaseFailed('count instances'),
    );
  }

  /**
   * Gives up every lease and ends the pools the store opened; after a failed
   * `open()` too, which took no lease but may have opened connections.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close().finally(() => {
      this.#closing = undefined;
    });
    return this.#closing;
  }

  async #close(): Promise<void> {
    // The pools to end are the ones in use now, whatever happens meanwhile.
    const { main, renewal } = this.#pools;
    if (this.#open && this.#readOnly) {
      // Read only: it took no lease and listens to nothing.
      this.#open = false;
      this.#readOnly = false;
    } else if (this.#open) {
      this.#open = false;
      if (this.#renewTimer) clearInterval(this.#renewTimer);
      await this.inbox.close();
      // Give up every lease at once, so other processes can take over without waiting for expiry.
      try {
        await releaseAllRows(this.#pools.main, this.#t, this.ownerId);
        // The others adopt what this process hosted now, not at their next sweep.
        await this.inbox.announceRelease();
      } catch (err) {
        this.#reportError(err);
      }
      this.#leases.clear();
    } else if (!this.#unhearPools) return; // never opened, or closed already
    try {
      this.#ended = this.#owns.main || this.#owns.renewal;
      if (this.#owns.main) await main.end();
      if (this.#owns.renewal) await renewal.end();
    } finally {
      // After the ends: a client that fails while its pool shuts down is heard.
      this.#unhearPools?.();
      this.#unhearPools = undefined;
    }
  }

  /**
   * An idle client whose server went away emits 'error' on its pool; unheard,
   * it would crash the process. The listeners go at close: a pool of the
   * user's outlives this store, and one shared by many stores in turn must
   * not collect a listener per store.
   */
  #hearPools(): void {
    if (this.#unhearPools) return;
    const report = (err: unknown) => this.#reportError(err);
    const pools = new Map<pg.Pool, boolean>([
      [this.#pools.main, this.#owns.main],
      [this.#pools.renewal, this.#owns.renewal],
    ]);
    for (const pool of pools.keys()) pool.on('error', report);
    this.#unhearPools = (all = true) => {
      for (const [pool, ours] of pools) {
        if (all || !ours) {
          pool.off('error', report);
          pools.delete(pool);
        }
      }
      if (pools.size === 0) this.#unhearPools = undefined;
    };
  }

  #fenced(id: string, why: string): RegistryError {
    return fencedError(id, this.ownerId, why);
  }

  #reportError(err: unknown): void {
    for (const listener of this.#errorListeners) listener(err);
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.#readOnly)
      throw new RegistryError(
        'STORE_LOCKED',
        'This PostgresStore was opened read-only (openReadOnly); open it with open() to change it.',
      );
  }

  #assertOpen(): void {
    if (!this.#open)
      throw new RegistryError(
        'STORE_CLOSED',
        'This PostgresStore is not open; start a registry over it first.',
      );
  }
}
