import type pg from 'pg';
import { RegistryError } from '../errors.js';
import { oversizedRecord, sizedRecord } from './postgres-row.js';
import {
  badSetAsideCursor,
  type SetAsidePage,
  type SetAsideQuery,
  setAsideLimit,
  unknownSetAside,
} from './store.js';

const MICROS = `(extract(epoch FROM at) * 1000000)::bigint`;

/**
 * A page of the rows of table `t` that `quarantine` moved to `t_quarantine`,
 * newest first, each under a key naming its ID, when it was set aside and its
 * row's sequence number (unique: one ID can be set aside twice in one
 * microsecond); the cursor is the last row's key (keyset paging: a page costs
 * its own rows).
 *
 * @example
 * ```ts
 * const { items, cursor } = await listSetAside(pool, 'xstate_registry_instances', { limit: 100 });
 * ```
 */
export async function listSetAside(
  pool: pg.Pool,
  t: string,
  query?: SetAsideQuery,
): Promise<SetAsidePage> {
  const limit = setAsideLimit(query);
  const params: unknown[] = [limit + 1];
  let after = '';
  if (query?.cursor !== undefined) {
    let key: SetAsideKey;
    try {
      key = decodeSetAsideKey(query.cursor);
    } catch {
      throw badSetAsideCursor(query.cursor);
    }
    params.push(key.micros);
    if (key.seq === undefined) {
      // A cursor from a version without seq, which ordered ties by ID: the rows
      // after it in that order (a tie may be seen twice, never skipped).
      params.push(key.id);
      after = `WHERE ${MICROS} < $2::bigint OR (${MICROS} = $2::bigint AND id > $3)`;
    } else {
      params.push(key.seq);
      after = `WHERE (${MICROS}, seq) < ($2::bigint, $3::bigint)`;
    }
  }
  const { rows } = await pool.query(
    `SELECT id, reason, ${MICROS} AS micros, seq, octet_length(record) AS bytes
     FROM ${t}_quarantine ${after} ORDER BY ${MICROS} DESC, seq DESC LIMIT $1`,
    params,
  );
  const all = (
    rows as Array<{
      id: string;
      reason: string;
      micros: string;
      seq: string;
      bytes: number | null;
    }>
  ).map((r) => ({
    key: Buffer.from(JSON.stringify([r.id, r.micros, r.seq])).toString('base64url'),
    id: r.id,
    reason: r.reason,
    at: Math.floor(Number(r.micros) / 1000),
    bytes: Number(r.bytes ?? 0),
  }));
  const items = all.slice(0, limit);
  const last = items[items.length - 1];
  return { items, cursor: all.length > limit && last ? last.key : null };
}

/**
 * Puts a quarantined row back, hosted by nobody, its columns read from the
 * record where it names them: the next claim or takeover sweep loads it (and
 * sets it aside again if it is still bad). One statement: never over a row its ID has again.
 *
 * @example
 * ```ts
 * await restoreSetAside(pool, 'xstate_registry_instances', key);
 * ```
 */
export async function restoreSetAside(
  pool: pg.Pool,
  t: string,
  key: string,
  maxBytes: number,
): Promise<void> {
  const { id, micros, seq } = decodeSetAsideKey(key);
  // A key from a version without seq names its ID and time only.
  const match = (seqParam: string) =>
    `id = $1 AND ${MICROS} = $2::bigint AND (${seqParam}::bigint IS NULL OR seq = ${seqParam}::bigint)`;
  const { rows } = await pool.query(
    `SELECT ${sizedRecord(maxBytes)} FROM ${t}_quarantine WHERE ${match('$3')} LIMIT 1`,
    [id, micros, seq ?? null],
  );
  const found = rows[0] as { record: string | null; bytes: string | null } | undefined;
  if (!found) throw unknownSetAside(key);
  // Never fetched whole (see sizedRecord): nor put back, since no claim would read it.
  if (found.record === null && found.bytes !== null)
    throw oversizedRecord(id, Number(found.bytes), maxBytes);
  const r = columnsFromRecord(found.record);
  const { rows: done } = await pool.query(
    `WITH q AS (SELECT ctid FROM ${t}_quarantine WHERE ${match('$9')} LIMIT 1),
     ins AS (
       INSERT INTO ${t} (id, record, type, status, created_at, updated_at, machine_version, epoch)
       SELECT $1, $3, $4, $5, $6, $7, $8, 0 WHERE EXISTS (SELECT 1 FROM q)
       ON CONFLICT (id) DO NOTHING RETURNING id),
     del AS (DELETE FROM ${t}_quarantine WHERE ctid IN (SELECT ctid FROM q) AND EXISTS (SELECT 1 FROM ins) RETURNING 1)
     SELECT (SELECT count(*) FROM ins)::int AS restored, (SELECT count(*) FROM q)::int AS found`,
    [
      id,
      micros,
      found.record,
      r.type,
      r.status,
      r.createdAt,
      r.updatedAt,
      r.machineVersion,
      seq ?? null,
    ],
  );
  const outcome = done[0] as { restored: number; found: number };
  if (outcome.found === 0) throw unknownSetAside(key);
  if (outcome.restored === 0)
    throw new RegistryError(
      'INSTANCE_EXISTS',
      `'${id}' has a record again; purge it first if the set-aside one should replace it.`,
      { details: { id, status: 'stored' } },
    );
}

/** What a set-aside key names: the row's ID, time and sequence number (absent in keys of earlier versions). */
interface SetAsideKey {
  id: string;
  micros: string;
  seq: string | undefined;
}

/** The {@link SetAsideKey} of a key `listSetAside` made. */
function decodeSetAsideKey(key: string): SetAsideKey {
  // A bigint, as the column holds it: in range, or PostgreSQL refuses the query.
  const int = (v: unknown) =>
    (typeof v === 'string' || typeof v === 'number') &&
    /^-?\d{1,19}$/.test(String(v)) &&
    BigInt(v) >= -(2n ** 63n) &&
    BigInt(v) < 2n ** 63n;
  try {
    const v = JSON.parse(Buffer.from(key, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      (v.length === 2 || (v.length === 3 && int(v[2]))) &&
      typeof v[0] === 'string' &&
      int(v[1])
    )
      return { id: v[0], micros: String(v[1]), seq: v.length === 3 ? String(v[2]) : undefined };
  } catch {}
  throw unknownSetAside(key);
}

/** The row's columns a record names (a damaged one may name none: they stay NULL). */
function columnsFromRecord(
  text: string | null,
): Record<
  'type' | 'status' | 'createdAt' | 'updatedAt' | 'machineVersion',
  string | number | null
> {
  let raw: Record<string, unknown> = {};
  try {
    const v = JSON.parse(text ?? 'null') as unknown;
    if (v && typeof v === 'object') raw = v as Record<string, unknown>;
  } catch {}
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const int = (v: unknown) => (Number.isSafeInteger(v) ? (v as number) : null);
  return {
    type: str(raw.type),
    status: str(raw.status),
    createdAt: int(raw.createdAt),
    updatedAt: int(raw.updatedAt),
    machineVersion: int(raw.machineVersion),
  };
}
