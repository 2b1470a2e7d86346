import type pg from 'pg';
import { RegistryError } from '../errors.js';
import type { RecordMeta } from './store.js';

/**
 * A UTF-16 surrogate without its pair. The driver sends text as UTF-8, where such
 * a code unit becomes U+FFFD: distinct IDs would then name one row.
 *
 * @example
 * ```ts
 * LONE_SURROGATE.test('a\ud800'); // true: refused by PostgresStore.claim
 * ```
 */
export const LONE_SURROGATE =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The indexed columns of a row, from the metadata the registry writes with
 * its record.
 *
 * @example
 * ```ts
 * const row: RowColumns = { type: 'order', status: 'running', createdAt: 1, updatedAt: 2 };
 * ```
 */
export interface RowColumns {
  type?: string | undefined;
  status?: string | undefined;
  createdAt?: number | undefined;
  updatedAt?: number | undefined;
  machineVersion?: number | undefined;
}

/**
 * The columns a row indexes, from the metadata the registry writes with the
 * record (the record itself is never parsed here); refuses text a `text`
 * column cannot hold.
 *
 * @example
 * ```ts
 * const columns = columnsOf('order-1', text, { type: 'order', status: 'running', createdAt, updatedAt });
 * ```
 */
export function columnsOf(id: string, text: string, meta: RecordMeta | undefined): RowColumns {
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

/**
 * Refuses an ID with a lone surrogate: PostgreSQL text would store it as
 * U+FFFD, so it would share a row with other IDs.
 *
 * @example
 * ```ts
 * assertStorableId('order-1'); // passes; 'a\ud800' throws INVALID_INSTANCE_ID
 * ```
 */
export function assertStorableId(id: string): void {
  if (LONE_SURROGATE.test(id)) {
    throw new RegistryError(
      'INVALID_INSTANCE_ID',
      `Instance ID ${JSON.stringify(id)} has a lone surrogate (not well-formed Unicode), which PostgreSQL text cannot hold: it would be stored as U+FFFD and share a row with other IDs. Use well-formed IDs with PostgresStore.`,
      { details: { id: JSON.stringify(id) } },
    );
  }
}

/**
 * The error of a write or delete the fence refused: `owner` no longer holds
 * instance `id` (`why` says how it lost it).
 *
 * @example
 * ```ts
 * throw fencedError('order-1', store.ownerId, 'another process took it over');
 * ```
 */
export function fencedError(id: string, owner: string, why: string): RegistryError {
  return new RegistryError(
    'FENCED',
    `This process no longer owns instance '${id}' (${why}); its copy is stopped and the newer owner's state stands.`,
    { details: { id, owner } },
  );
}

/**
 * Every stored record of table `t`, in creation order.
 *
 * @example
 * ```ts
 * for (const row of await loadRows(pool, t)) console.log(row.id);
 * ```
 */
export async function loadRows(
  pool: pg.Pool,
  t: string,
  maxBytes: number,
): Promise<Array<{ id: string; record: string | null; bytes: string }>> {
  const { rows } = await pool.query(
    `SELECT id, ${sizedRecord(maxBytes)} FROM ${t} WHERE record IS NOT NULL ORDER BY created_at, id`,
  );
  return rows as Array<{ id: string; record: string | null; bytes: string }>;
}

/**
 * The select list of a record no larger than `maxBytes` (NULL past it, never
 * fetched) and its size: a row of hundreds of megabytes written by hand would
 * otherwise crash the process inside the driver.
 *
 * @example
 * ```ts
 * await pool.query(`SELECT id, ${sizedRecord(1 << 26)} FROM ${t}`);
 * ```
 */
export function sizedRecord(maxBytes: number, column = 'record'): string {
  return `CASE WHEN octet_length(${column}) <= ${maxBytes} THEN ${column} END AS record, octet_length(${column})::bigint AS bytes`;
}

/**
 * The error for a record over the size the store reads.
 *
 * @example
 * ```ts
 * throw oversizedRecord('order-1', 700_000_000, 64 << 20);
 * ```
 */
export function oversizedRecord(id: string, bytes: number, limit: number): RegistryError {
  return new RegistryError(
    'SNAPSHOT_TOO_LARGE',
    `The stored record of instance '${id}' is ${bytes} bytes, over this store's maxRecordBytes (${limit}): it is not read. A process whose store reads that much can host it; or shrink or remove it.`,
    { details: { id, bytes, limit } },
  );
}

/**
 * The record of `id`, if it has one.
 *
 * @example
 * ```ts
 * const text = await readRow(pool, t, 'order-1');
 * ```
 */
export async function readRow(
  pool: pg.Pool,
  t: string,
  id: string,
  maxBytes: number,
): Promise<string | undefined> {
  const { rows } = await pool.query(
    `SELECT ${sizedRecord(maxBytes)} FROM ${t} WHERE id = $1 AND record IS NOT NULL`,
    [id],
  );
  const row = rows[0] as { record: string | null; bytes: string } | undefined;
  if (row && row.record === null) throw oversizedRecord(id, Number(row.bytes), maxBytes);
  return row?.record ?? undefined;
}

/**
 * Deletes the row of `id` if it is still at `epoch` and held by `owner` or
 * nobody, and the mail waiting for it; false when no row was deleted.
 *
 * @example
 * ```ts
 * if (!(await deleteFencedRow(pool, t, 'order-1', owner, 3))) throw fencedError('order-1', owner, 'taken over');
 * ```
 */
export async function deleteFencedRow(
  pool: pg.Pool,
  t: string,
  id: string,
  owner: string,
  epoch: number,
): Promise<boolean> {
  // Its mail goes with it, in the same commit: a message posted to this
  // instance must never reach a new one created later under the same ID.
  const { rows } = await pool.query(
    `WITH del AS (
       DELETE FROM ${t} WHERE id = $1 AND epoch = $3 AND (owner = $2 OR owner IS NULL) RETURNING id
     ), mail AS (
       DELETE FROM ${t}_inbox WHERE instance_id = $1 AND EXISTS (SELECT 1 FROM del) RETURNING seq
     )
     SELECT (SELECT count(*) FROM del)::int AS deleted, (SELECT count(*) FROM mail)::int AS mail,
       -- Callers waiting elsewhere (a mailed purge's sender) read it again now, as when mail is deleted.
       (SELECT pg_notify('${t}_inbox', 'changed:' || id) FROM del) AS notified`,
    [id, owner, epoch],
  );
  return (rows[0] as { deleted: number }).deleted !== 0;
}

/**
 * Moves the row stored under `key` to `t_quarantine`, with `reason`.
 *
 * @example
 * ```ts
 * await quarantineRow(pool, t, 'order-1', 'unreadable record');
 * ```
 */
export async function quarantineRow(
  pool: pg.Pool,
  t: string,
  key: string,
  reason: string,
): Promise<void> {
  await pool.query(
    `WITH moved AS (DELETE FROM ${t} WHERE id = $1 RETURNING id, record)
       INSERT INTO ${t}_quarantine (id, record, reason) SELECT id, record, $2 FROM moved`,
    [key, reason],
  );
}
