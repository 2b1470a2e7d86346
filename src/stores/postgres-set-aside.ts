import type pg from 'pg';
import { RegistryError } from '../errors.js';
import {
  badSetAsideCursor,
  type SetAsidePage,
  type SetAsideQuery,
  setAsideLimit,
  unknownSetAside,
} from './store.js';

/**
 * A page of the rows of table `t` that `quarantine` moved to `t_quarantine`,
 * newest first, each under a key naming its ID and when it was set aside; the
 * cursor is the last row's key (keyset paging: a page costs its own rows).
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
  const micros = `(extract(epoch FROM at) * 1000000)::bigint`;
  const params: unknown[] = [limit + 1];
  let after = '';
  if (query?.cursor !== undefined) {
    let id: string;
    let at: string;
    try {
      [id, at] = decodeSetAsideKey(query.cursor);
    } catch {
      throw badSetAsideCursor(query.cursor);
    }
    params.push(at, id);
    after = `WHERE ${micros} < $2::bigint OR (${micros} = $2::bigint AND id > $3)`;
  }
  const { rows } = await pool.query(
    `SELECT id, reason, ${micros} AS micros, octet_length(record) AS bytes
     FROM ${t}_quarantine ${after} ORDER BY ${micros} DESC, id LIMIT $1`,
    params,
  );
  const all = (
    rows as Array<{ id: string; reason: string; micros: string; bytes: number | null }>
  ).map((r) => ({
    key: Buffer.from(JSON.stringify([r.id, r.micros])).toString('base64url'),
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
export async function restoreSetAside(pool: pg.Pool, t: string, key: string): Promise<void> {
  const [id, micros] = decodeSetAsideKey(key);
  const match = `id = $1 AND (extract(epoch FROM at) * 1000000)::bigint = $2::bigint`;
  const { rows } = await pool.query(`SELECT record FROM ${t}_quarantine WHERE ${match} LIMIT 1`, [
    id,
    micros,
  ]);
  const found = rows[0] as { record: string | null } | undefined;
  if (!found) throw unknownSetAside(key);
  const r = columnsFromRecord(found.record);
  const { rows: done } = await pool.query(
    `WITH q AS (SELECT ctid FROM ${t}_quarantine WHERE ${match} LIMIT 1),
     ins AS (
       INSERT INTO ${t} (id, record, type, status, created_at, updated_at, machine_version, epoch)
       SELECT $1, $3, $4, $5, $6, $7, $8, 0 WHERE EXISTS (SELECT 1 FROM q)
       ON CONFLICT (id) DO NOTHING RETURNING id),
     del AS (DELETE FROM ${t}_quarantine WHERE ctid IN (SELECT ctid FROM q) AND EXISTS (SELECT 1 FROM ins) RETURNING 1)
     SELECT (SELECT count(*) FROM ins)::int AS restored, (SELECT count(*) FROM q)::int AS found`,
    [id, micros, found.record, r.type, r.status, r.createdAt, r.updatedAt, r.machineVersion],
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

/** The (id, microseconds) a set-aside key names, as `listSetAside` encodes it. */
function decodeSetAsideKey(key: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(key, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      /^-?\d{1,19}$/.test(String(v[1]))
    )
      return [v[0], String(v[1])];
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
