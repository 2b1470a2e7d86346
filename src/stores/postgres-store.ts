import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { RegistryError } from '../errors.js';
import { PostgresInbox } from './postgres-inbox.js';
import { countByStatus, queryPage } from './postgres-list.js';
import { migrateSchema } from './postgres-schema.js';
import { listSetAside, restoreSetAside } from './postgres-set-aside.js';
import { PostgresWriteBatch, type RowWrite } from './postgres-write-batch.js';
import {
  type ClaimResult,
  type ClusterStore,
  type RecordMeta,
  type SetAsidePage,
  type SetAsideQuery,
  type StoredEntry,
  type StoredPage,
  type StoreQuery,
  storeKey,
} from './store.js';

export interface PostgresStoreOptions {
  /** A libpq connection string, e.g. `postgres://user:pass@127.0.0.1:5432/app`. */
  connectionString?: string;
  /** Or a pool you manage (then `close()` leaves it open). */
  pool?: pg.Pool;
  /** Table name (letters, digits, underscores). Default `xstate_registry_instances`. */
  table?: string;
  /** How long a lease lasts without renewal. Default 10,000 ms; renewed every third of it. */
  leaseMs?: number;
  /** This process's name in leases. Default `<host>/<pid>/<random>`, unique per process start. */
  ownerId?: string;
}

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
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #t: string;
  readonly #leaseMs: number;
  /** Epoch of every lease this process holds. */
  readonly #epochs = new Map<string, number>();
  /**
   * Epoch of every finished instance whose final write gave up its lease: its
   * row is nobody's, but until the registry forgets it, this process may still
   * write (a replacement) or delete (a purge) it, fenced by that epoch.
   */
  readonly #released = new Map<string, number>();
  /** IDs claimed here with no record yet: their first write tells waiting processes it landed. */
  readonly #bare = new Set<string>();
  readonly #batch: PostgresWriteBatch;
  readonly #claimSql: string;
  readonly #lostListeners = new Set<(id: string) => void>();
  readonly #errorListeners = new Set<(err: unknown) => void>();
  #renewTimer: ReturnType<typeof setInterval> | undefined;
  #renewing = false;
  #open = false;

  constructor(options: PostgresStoreOptions) {
    const table = options.table ?? 'xstate_registry_instances';
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(table)) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `PostgresStore: table must be lowercase letters, digits and underscores, got '${table}'.`,
      );
    }
    if (!options.pool && !options.connectionString) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        'PostgresStore needs { connectionString } or { pool }.',
      );
    }
    this.#t = table;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.ownerId = options.ownerId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
    this.#ownsPool = !options.pool;
    this.#pool =
      options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: 10 });
    this.#claimSql = this.#claimStatement();
    this.#batch = new PostgresWriteBatch(
      this.#pool,
      table,
      this.ownerId,
      this.#leaseMs,
      `${table}_inbox`,
    );
    // An idle client whose server went away emits 'error'; unheard, it would crash the process.
    this.#pool.on('error', (err) => this.#reportError(err));
    this.inbox = new PostgresInbox(this.#pool, table, this.ownerId, (err) =>
      this.#reportError(err),
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
    await this.#migrate();
    await this.inbox.open();
    this.#open = true;
    this.#renewTimer = setInterval(() => void this.#renew(), Math.max(100, this.#leaseMs / 3));
    this.#renewTimer.unref();
  }

  async #migrate(): Promise<void> {
    await migrateSchema(this.#pool, this.#t);
  }

  /**
   * Takes the lease on `id` in one statement. A refusal is answered from the
   * same statement's read of the row: it neither locks the row nor commits.
   * With `initial` (a new instance's first record), an ID never stored is
   * inserted with it, so that creating an instance is one commit (`created`).
   */
  async claim(id: string, initial?: { text: string; meta: RecordMeta }): Promise<ClaimResult> {
    this.#assertOpen();
    if (LONE_SURROGATE.test(id)) {
      throw new RegistryError(
        'INVALID_INSTANCE_ID',
        `Instance ID ${JSON.stringify(id)} has a lone surrogate (not well-formed Unicode), which PostgreSQL text cannot hold: it would be stored as U+FFFD and share a row with other IDs. Use well-formed IDs with PostgresStore.`,
        { details: { id: JSON.stringify(id) } },
      );
    }
    const r = initial ? columnsOf(id, initial.text, initial.meta) : {};
    for (let attempt = 0; attempt < 3; attempt++) {
      const { rows } = await this.#pool.query({
        // Named: each connection parses and plans it once, not on every claim.
        name: `xstate-registry:claim:${this.#t}`,
        text: this.#claimSql,
        values: [
          id,
          this.ownerId,
          this.#leaseMs,
          initial?.text ?? null,
          r.type ?? null,
          r.status ?? null,
          r.createdAt ?? null,
          r.updatedAt ?? null,
          r.machineVersion ?? null,
        ],
      });
      const all = rows as Array<{
        epoch: string | null;
        record: string | null;
        created: boolean | null;
        owner: string | null;
        until: string | null;
        live: boolean | null;
      }>;
      const won = all.find((row) => row.epoch !== null);
      if (won) {
        const epoch = Number(won.epoch);
        this.#epochs.set(id, epoch);
        this.#released.delete(id);
        if (won.record === null) this.#bare.add(id);
        const result: ClaimResult = { owned: true, epoch, text: won.record ?? undefined };
        if (won.created && initial) result.created = true;
        return result;
      }
      const other = all.find((row) => row.owner !== null);
      if (other?.live)
        return { owned: false, owner: other.owner as string, expiresAt: Number(other.until) };
      // Released, expired or inserted by someone else since this statement's snapshot: look again.
    }
    throw new RegistryError(
      'OWNED_ELSEWHERE',
      `Instance '${id}' keeps changing hands; try again.`,
      { details: { id } },
    );
  }

  /**
   * One statement, one snapshot: the row as it is (`cur`), an insert when there
   * is none, and an update only when the lease is free, expired or ours. An
   * UPDATE whose WHERE fails and an INSERT that is not attempted take no lock and
   * no transaction ID, so a refusal costs a read.
   */
  #claimStatement(): string {
    const lease = 'now() + make_interval(secs => $3::double precision / 1000)';
    return `WITH cur AS (
        SELECT owner, lease_expires_at FROM ${this.#t} WHERE id = $1::text
      ), ins AS (
        INSERT INTO ${this.#t} (id, owner, lease_expires_at, epoch, record, type, status, created_at, updated_at, machine_version)
        SELECT $1::text, $2::text, ${lease}, 1, $4::text, $5::text, $6::text, $7::bigint, $8::bigint, $9::bigint
        WHERE NOT EXISTS (SELECT 1 FROM cur)
        ON CONFLICT (id) DO NOTHING
        RETURNING epoch, record, true AS created
      ), upd AS (
        UPDATE ${this.#t} AS t SET owner = $2::text, lease_expires_at = ${lease},
          epoch = CASE WHEN t.owner = $2::text THEN t.epoch ELSE t.epoch + 1 END
        WHERE t.id = $1::text AND (t.owner IS NULL OR t.owner = $2::text OR t.lease_expires_at < now())
        RETURNING t.epoch, t.record, false AS created
      )
      SELECT epoch, record, created, NULL::text AS owner, NULL::bigint AS until, NULL::boolean AS live FROM ins
      UNION ALL SELECT epoch, record, created, NULL, NULL, NULL FROM upd
      UNION ALL SELECT NULL, NULL, NULL, owner, (extract(epoch from lease_expires_at) * 1000)::bigint,
        lease_expires_at >= now() FROM cur`;
  }

  async release(id: string): Promise<void> {
    this.#bare.delete(id);
    // Given up already by the finishing write, in the same commit.
    if (this.#released.delete(id)) return;
    this.#epochs.delete(id);
    // A row claimed for a record that never came is deleted; any other is let go.
    await this.#pool.query(
      `WITH gone AS (DELETE FROM ${this.#t} WHERE id = $1 AND owner = $2 AND record IS NULL RETURNING id)
       UPDATE ${this.#t} SET owner = NULL, lease_expires_at = NULL
       WHERE id = $1 AND owner = $2 AND NOT EXISTS (SELECT 1 FROM gone)`,
      [id, this.ownerId],
    );
  }

  async *load(): AsyncIterable<StoredEntry> {
    this.#assertOpen();
    const { rows } = await this.#pool.query(
      `SELECT id, record FROM ${this.#t} WHERE record IS NOT NULL ORDER BY created_at, id`,
    );
    for (const row of rows as Array<{ id: string; record: string }>)
      yield { kind: 'record', key: storeKey(row.id), text: row.record };
  }

  async read(id: string): Promise<string | undefined> {
    this.#assertOpen();
    // Never stored (claim refuses it); querying would match the row of another ID.
    if (LONE_SURROGATE.test(id)) return undefined;
    const { rows } = await this.#pool.query(
      `SELECT record FROM ${this.#t} WHERE id = $1 AND record IS NOT NULL`,
      [id],
    );
    return (rows[0] as { record: string } | undefined)?.record;
  }

  async write(id: string, text: string, meta: RecordMeta): Promise<void> {
    this.#assertOpen();
    const r = columnsOf(id, text, meta);
    const epoch = this.#epochs.get(id) ?? this.#released.get(id);
    if (epoch === undefined) throw this.#fenced(id, 'this process holds no lease on it');
    // A finished instance needs no host: its final record gives up the lease.
    // Out of the renewed set at once, so a renewal racing this write does not
    // mistake the released row for a lost lease.
    const final = meta.status !== 'running';
    if (final) {
      this.#epochs.delete(id);
      this.#released.set(id, epoch);
    }
    const announce = this.#bare.delete(id);
    const applied = await this.#batch.write({ id, text, ...r, epoch, final, announce } as RowWrite);
    if (!applied) {
      this.#epochs.delete(id);
      this.#released.delete(id);
      throw this.#fenced(id, 'another process took it over');
    }
    if (!final && this.#released.get(id) === epoch) {
      // Written again after finishing (replaced): the lease is held again.
      this.#released.delete(id);
      this.#epochs.set(id, epoch);
    }
  }

  async remove(id: string): Promise<void> {
    this.#assertOpen();
    const epoch = this.#epochs.get(id) ?? this.#released.get(id);
    if (epoch === undefined) throw this.#fenced(id, 'this process holds no lease on it');
    this.#epochs.delete(id);
    this.#released.delete(id);
    this.#bare.delete(id);
    const result = await this.#pool.query(
      `DELETE FROM ${this.#t} WHERE id = $1 AND epoch = $3 AND (owner = $2 OR owner IS NULL)`,
      [id, this.ownerId, epoch],
    );
    // No row deleted: another process took the instance over, and its row is its own now.
    if (result.rowCount === 0) throw this.#fenced(id, 'another process took it over');
  }

  async quarantine(key: string, reason: string): Promise<void> {
    this.#assertOpen();
    await this.#pool.query(
      `WITH moved AS (DELETE FROM ${this.#t} WHERE id = $1 RETURNING id, record)
       INSERT INTO ${this.#t}_quarantine (id, record, reason) SELECT id, record, $2 FROM moved`,
      [key, reason],
    );
    this.#epochs.delete(key);
    this.#released.delete(key);
  }

  /**
   * The rows `quarantine()` moved aside, newest first. The key names the row by
   * its ID and the moment (in microseconds) it was set aside. (Restoring is not
   * offered here yet: a row needs its lease columns rebuilt.)
   */
  async listSetAside(query?: SetAsideQuery): Promise<SetAsidePage> {
    this.#assertOpen();
    return listSetAside(this.#pool, this.#t, query);
  }
  /** Puts a quarantined row back, hosted by nobody (see postgres-set-aside.ts). */
  async restoreSetAside(key: string): Promise<void> {
    this.#assertOpen();
    return restoreSetAside(this.#pool, this.#t, key);
  }

  async orphans(limit: number, decodable?: ReadonlyMap<string, number>): Promise<string[]> {
    this.#assertOpen();
    const params: unknown[] = [limit];
    let only = '';
    if (decodable) {
      // Records of other types or newer versions are left for a process that has them.
      // A version past bigint's range is newer than any row (whose column is then NULL).
      params.push(
        [...decodable.keys()],
        [...decodable.values()].map((v) => Math.min(v, 9e18)),
      );
      only = `AND EXISTS (SELECT 1 FROM unnest($2::text[], $3::bigint[]) AS k(type, version)
                WHERE k.type = t.type AND (t.machine_version IS NULL OR t.machine_version <= k.version))`;
    }
    const { rows } = await this.#pool.query(
      `SELECT id FROM ${this.#t} AS t
       WHERE status = 'running' AND record IS NOT NULL AND (owner IS NULL OR lease_expires_at < now()) ${only}
       ORDER BY lease_expires_at NULLS FIRST LIMIT $1`,
      params,
    );
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }

  async query(q: StoreQuery): Promise<StoredPage> {
    this.#assertOpen();
    return queryPage(this.#pool, this.#t, q);
  }

  /** How many stored instances have each status, by SQL (`count(*) GROUP BY status`). */
  async counts(filter: {
    type?: readonly string[];
    idPrefix?: string;
  }): Promise<Record<string, number>> {
    this.#assertOpen();
    return countByStatus(this.#pool, this.#t, filter);
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    await this.inbox.close();
    // Give up every lease at once, so other processes can take over without waiting for expiry.
    try {
      await this.#pool.query(`DELETE FROM ${this.#t} WHERE owner = $1 AND record IS NULL`, [
        this.ownerId,
      ]);
      await this.#pool.query(
        `UPDATE ${this.#t} SET owner = NULL, lease_expires_at = NULL WHERE owner = $1`,
        [this.ownerId],
      );
      // The others adopt what this process hosted now, not at their next sweep.
      await this.inbox.announceRelease();
    } catch (err) {
      this.#reportError(err);
    }
    this.#epochs.clear();
    this.#released.clear();
    this.#bare.clear();
    if (this.#ownsPool) await this.#pool.end();
  }

  /** Renews every lease held; the ones that come back missing were lost. */
  async #renew(): Promise<void> {
    // One renewal at a time: a renewal slowed by row locks (another process
    // writing rows this one lost) must not be joined by the next tick's, or they
    // pile up until they hold every connection of the pool and nothing else
    // (writes, claims, mail) runs, so every lease lapses.
    if (!this.#open || this.#epochs.size === 0 || this.#renewing) return;
    this.#renewing = true;
    const ids = [...this.#epochs.keys()];
    try {
      const { rows } = await this.#pool.query(
        `UPDATE ${this.#t} SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
         WHERE owner = $1 AND id = ANY($2) RETURNING id, epoch`,
        [this.ownerId, ids, this.#leaseMs],
      );
      const kept = new Map(
        (rows as Array<{ id: string; epoch: string }>).map((r) => [r.id, Number(r.epoch)]),
      );
      for (const id of ids) {
        if (!this.#epochs.has(id)) continue; // released meanwhile
        if (kept.get(id) === this.#epochs.get(id)) continue;
        this.#epochs.delete(id);
        this.#bare.delete(id);
        for (const listener of this.#lostListeners) listener(id);
      }
    } catch (err) {
      // The database is unreachable: keep the leases we think we hold; fenced
      // writes protect the data if another process takes over meanwhile.
      this.#reportError(err);
    } finally {
      this.#renewing = false;
    }
  }

  #fenced(id: string, why: string): RegistryError {
    return new RegistryError(
      'FENCED',
      `This process no longer owns instance '${id}' (${why}); its copy is stopped and the newer owner's state stands.`,
      { details: { id, owner: this.ownerId } },
    );
  }

  #reportError(err: unknown): void {
    for (const listener of this.#errorListeners) listener(err);
  }

  #assertOpen(): void {
    if (!this.#open)
      throw new RegistryError(
        'STORE_CLOSED',
        'This PostgresStore is not open; start a registry over it first.',
      );
  }
}

/**
 * A UTF-16 surrogate without its pair. The driver sends text as UTF-8, where such
 * a code unit becomes U+FFFD: distinct IDs would then name one row.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The columns a row indexes, from the metadata the registry writes with the
 * record (the record itself is never parsed here); refuses text a `text`
 * column cannot hold.
 */
function columnsOf(
  id: string,
  text: string,
  meta: RecordMeta | undefined,
): {
  type?: string | undefined;
  status?: string | undefined;
  createdAt?: number | undefined;
  updatedAt?: number | undefined;
  machineVersion?: number | undefined;
} {
  // JSON never holds a raw NUL (it escapes it as \u0000), and PostgreSQL text cannot.
  if (text.includes('\0')) {
    throw new RegistryError(
      'NOT_SERIALIZABLE',
      `The record of instance '${id}' contains a raw NUL character, which PostgreSQL text cannot hold; records must be JSON text.`,
      { details: { id } },
    );
  }
  // Out of a bigint's range, a time or version is left NULL rather than failing the write.
  const int = (v: unknown) =>
    typeof v === 'number' && Math.abs(v) < 9e18 ? Math.trunc(v) : undefined;
  return {
    type: meta?.type,
    status: meta?.status,
    createdAt: int(meta?.createdAt),
    updatedAt: int(meta?.updatedAt),
    machineVersion: int(meta?.machineVersion),
  };
}
