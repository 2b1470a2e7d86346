import type pg from 'pg';
import type { RowColumns } from './postgres-row.js';

// The lease statements of table `t`: claim, release, renew, give up all, and
// find the rows nobody holds. PostgresStore keeps the epochs they return.

/**
 * One statement, one snapshot: the row as it is (`cur`), an insert when there
 * is none, and an update only when the lease is free, expired or ours. The
 * epoch stays only for a lease this store holds now (`$10`, the epoch it
 * knows): two processes given one ownerId, or a process restarted under its
 * old name, each take a new epoch, which fences the other's writes and shows
 * at its next renewal as a lost lease. A new
 * lease's epoch comes from the table's sequence, never from the row alone: a
 * row deleted (purged) and inserted again must not give its ID an epoch a
 * paused owner of the old row still holds, or that owner's late write would
 * pass the fence. An
 * UPDATE whose WHERE fails and an INSERT that is not attempted take no lock and
 * no transaction ID, so a refusal costs a read.
 *
 * @example
 * ```ts
 * const sql = claimStatement('xstate_registry_instances', 64 * 1024 * 1024); // built once per store
 * ```
 */
export function claimStatement(t: string, maxBytes: number): string {
  // The record only if it is small enough to fetch; its size either way.
  const record = (c: string) =>
    `CASE WHEN octet_length(${c}) <= ${maxBytes} THEN ${c} END AS record, octet_length(${c}) AS bytes`;
  const lease = 'now() + make_interval(secs => $3::double precision / 1000)';
  return `WITH cur AS (
        SELECT owner, lease_expires_at FROM ${t} WHERE id = $1::text
      ), ins AS (
        INSERT INTO ${t} (id, owner, lease_expires_at, epoch, record, type, status, created_at, updated_at, machine_version)
        SELECT $1::text, $2::text, ${lease}, nextval('${t}_epoch'), $4::text, $5::text, $6::text, $7::bigint, $8::bigint, $9::bigint
        WHERE NOT EXISTS (SELECT 1 FROM cur)
        ON CONFLICT (id) DO NOTHING
        RETURNING epoch, ${record('record')}, true AS created
      ), upd AS (
        UPDATE ${t} AS t SET owner = $2::text, lease_expires_at = ${lease},
          epoch = CASE WHEN t.owner = $2::text AND t.epoch = $10::bigint THEN t.epoch ELSE GREATEST(nextval('${t}_epoch'), t.epoch + 1) END
        WHERE t.id = $1::text AND (t.owner IS NULL OR t.owner = $2::text OR t.lease_expires_at < now())
        RETURNING t.epoch, ${record('t.record')}, false AS created
      )
      SELECT epoch, record, bytes, created, NULL::text AS owner, NULL::bigint AS until, NULL::boolean AS live FROM ins
      UNION ALL SELECT epoch, record, bytes, created, NULL, NULL, NULL FROM upd
      UNION ALL SELECT NULL, NULL, NULL, NULL, owner, (extract(epoch from lease_expires_at) * 1000)::bigint,
        lease_expires_at >= now() FROM cur`;
}

/**
 * A row of the claim statement: a won lease (`epoch` set) or the current
 * holder's (`owner` set).
 *
 * @example
 * ```ts
 * const won = rows.find((row: ClaimRow) => row.epoch !== null);
 * ```
 */
export interface ClaimRow {
  epoch: string | null;
  /** Null when there is none, or when it is over the size asked for (see `bytes`). */
  record: string | null;
  bytes: string | null;
  created: boolean | null;
  owner: string | null;
  until: string | null;
  live: boolean | null;
}

/**
 * Runs the claim statement `sql` (from {@link claimStatement}) once for `id`;
 * with `initial`, an ID never stored is inserted with that record.
 *
 * @example
 * ```ts
 * const rows = await claimRows(pool, t, sql, { id, ownerId, leaseMs });
 * ```
 */
export async function claimRows(
  pool: pg.Pool,
  t: string,
  sql: string,
  claim: {
    id: string;
    ownerId: string;
    leaseMs: number;
    /** The epoch of the lease this store holds on `id` now, if it holds one. */
    heldEpoch?: number | undefined;
    text?: string;
    columns?: RowColumns;
  },
): Promise<ClaimRow[]> {
  const r = claim.columns ?? {};
  const { rows } = await pool.query({
    // Named: each connection parses and plans it once, not on every claim.
    name: `xstate-registry:claim:${t}`,
    text: sql,
    values: [
      claim.id,
      claim.ownerId,
      claim.leaseMs,
      claim.text ?? null,
      r.type ?? null,
      r.status ?? null,
      r.createdAt ?? null,
      r.updatedAt ?? null,
      r.machineVersion ?? null,
      claim.heldEpoch ?? null,
    ],
  });
  return rows as ClaimRow[];
}

/**
 * Lets go of `owner`'s lease on `id`. A row claimed for a record that never
 * came is deleted; any other is let go, unheld from now: the takeover sweep
 * takes the longest unheld first, so a row given back because this process
 * cannot host it (a newer format, an oversized record) goes behind the other
 * orphans instead of filling every sweep.
 *
 * @example
 * ```ts
 * await releaseRow(pool, t, 'order-1', store.ownerId);
 * ```
 */
export async function releaseRow(
  pool: pg.Pool,
  t: string,
  id: string,
  owner: string,
): Promise<void> {
  await pool.query(
    `WITH gone AS (DELETE FROM ${t} WHERE id = $1 AND owner = $2 AND record IS NULL RETURNING id)
       UPDATE ${t} SET owner = NULL, lease_expires_at = now()
       WHERE id = $1 AND owner = $2 AND NOT EXISTS (SELECT 1 FROM gone)`,
    [id, owner],
  );
}

/**
 * Extends `owner`'s leases on `ids` by `leaseMs`; returns the epoch of each
 * row still held (a missing one was lost).
 *
 * @example
 * ```ts
 * const kept = await renewRows(pool, t, owner, ['order-1'], 10_000);
 * ```
 */
export async function renewRows(
  pool: pg.Pool,
  t: string,
  owner: string,
  ids: readonly string[],
  leaseMs: number,
): Promise<Map<string, number>> {
  // Locks the rows in ID order first, as the write batch does: two statements
  // of one process updating the same rows in different orders deadlock.
  const { rows } = await pool.query(
    `WITH held AS MATERIALIZED (
         SELECT id FROM ${t} WHERE owner = $1 AND id = ANY($2) ORDER BY id FOR UPDATE)
       UPDATE ${t} AS t SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
         FROM held WHERE t.id = held.id AND t.owner = $1 RETURNING t.id, t.epoch`,
    [owner, ids, leaseMs],
  );
  return new Map(
    (rows as Array<{ id: string; epoch: string }>).map((r) => [r.id, Number(r.epoch)]),
  );
}

/**
 * Gives up every lease `owner` holds at once, so other processes can take
 * over without waiting for expiry; rows claimed with no record go.
 *
 * @example
 * ```ts
 * await releaseAllRows(pool, t, store.ownerId); // on close
 * ```
 */
export async function releaseAllRows(pool: pg.Pool, t: string, owner: string): Promise<void> {
  // Both lock their rows in ID order first, as renewals and write batches do:
  // a renewal still running at close took them in that order, and a scan's
  // order deadlocked with it.
  await pool.query(
    `WITH bare AS MATERIALIZED (
         SELECT id FROM ${t} WHERE owner = $1 AND record IS NULL ORDER BY id FOR UPDATE)
       DELETE FROM ${t} AS t USING bare WHERE t.id = bare.id AND t.owner = $1 AND t.record IS NULL`,
    [owner],
  );
  await pool.query(
    `WITH held AS MATERIALIZED (SELECT id FROM ${t} WHERE owner = $1 ORDER BY id FOR UPDATE)
       UPDATE ${t} AS t SET owner = NULL, lease_expires_at = NULL
         FROM held WHERE t.id = held.id AND t.owner = $1`,
    [owner],
  );
}

/**
 * Up to `limit` running instances nobody holds (no owner, or a lapsed lease),
 * longest unheld first; with `decodable`, only types this process has, at a
 * version it can read.
 *
 * @example
 * ```ts
 * const ids = await orphanIds(pool, t, 100, new Map([['order', 2]]));
 * ```
 */
export async function orphanIds(
  pool: pg.Pool,
  t: string,
  limit: number,
  decodable?: ReadonlyMap<string, number>,
): Promise<string[]> {
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
  const { rows } = await pool.query(
    `SELECT id FROM ${t} AS t
       WHERE status = 'running' AND record IS NOT NULL AND (owner IS NULL OR lease_expires_at < now()) ${only}
       ORDER BY lease_expires_at NULLS FIRST LIMIT $1`,
    params,
  );
  return (rows as Array<{ id: string }>).map((r) => r.id);
}
