import type pg from 'pg';
import { RegistryError } from '../errors.js';
import type { StoredPage, StoreQuery } from './cluster-store.js';
import { sizedRecord } from './postgres-row.js';

/**
 * One page of `list()` from table `t`, by SQL on its indexes: in creation
 * order, or newest-updated first (`order: 'updated'`), with the filters and an
 * ID prefix (LIKE, its wildcards escaped), and the cursor of the next page.
 *
 * @example
 * ```ts
 * const page = await queryPage(pool, 'xstate_registry_instances', { status: ['running'], limit: 50 });
 * ```
 */
export async function queryPage(
  pool: pg.Pool,
  t: string,
  q: StoreQuery,
  maxBytes: number,
): Promise<StoredPage> {
  const where = ['record IS NOT NULL'];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.status?.length) add('status = ANY(?)', [...q.status]);
  if (q.type?.length) add('type = ANY(?)', [...q.type]);
  if (q.createdFrom !== undefined) add('created_at >= ?', q.createdFrom);
  if (q.createdTo !== undefined) add('created_at <= ?', q.createdTo);
  if (q.updatedFrom !== undefined) add('updated_at >= ?', q.updatedFrom);
  if (q.updatedTo !== undefined) add('updated_at <= ?', q.updatedTo);
  // A prefix, its LIKE wildcards escaped: one range of the id_prefix index.
  if (q.idPrefix) add("id LIKE ? ESCAPE '\\'", `${q.idPrefix.replace(/[\\%_]/g, '\\$&')}%`);
  const updated = q.order === 'updated';
  // Newest-updated first, then ID descending (as the in-memory list orders).
  const [col, cmp, dir] = updated ? ['updated_at', '<', 'DESC'] : ['created_at', '>', 'ASC'];
  if (q.cursor !== undefined) {
    const [at, id] = decodeCursor(q.cursor, updated);
    params.push(at, id);
    where.push(`(${col}, id) ${cmp} ($${params.length - 1}, $${params.length})`);
  }
  params.push(q.limit + 1);
  const { rows } = await pool.query(
    `SELECT id, ${col} AS at, ${sizedRecord(maxBytes)} FROM ${t} WHERE ${where.join(' AND ')} ORDER BY ${col} ${dir}, id ${dir} LIMIT $${params.length}`,
    params,
  );
  const page = (rows as Array<{ id: string; at: string; record: string | null }>).slice(0, q.limit);
  const last = page[page.length - 1];
  // A record too large to read is left out of the page (getStatus names it);
  // the cursor still goes past it.
  const result: StoredPage = {
    texts: page.flatMap((r) => (r.record === null ? [] : [r.record])),
  };
  if (rows.length > q.limit && last) {
    const key = updated ? [Number(last.at), last.id, 'u'] : [Number(last.at), last.id];
    result.cursor = Buffer.from(JSON.stringify(key)).toString('base64url');
  }
  return result;
}

/**
 * How many stored instances of table `t` have each status (`count(*) GROUP BY status`).
 *
 * @example
 * ```ts
 * const byStatus = await countByStatus(pool, 'xstate_registry_instances', { type: ['job'] });
 * ```
 */
export async function countByStatus(
  pool: pg.Pool,
  t: string,
  filter: { type?: readonly string[]; idPrefix?: string },
): Promise<Record<string, number>> {
  const where = ['record IS NOT NULL'];
  const params: unknown[] = [];
  if (filter.type) {
    params.push([...filter.type]);
    where.push(`type = ANY($${params.length})`);
  }
  if (filter.idPrefix) {
    params.push(`${filter.idPrefix.replace(/[\\%_]/g, '\\$&')}%`);
    where.push(`id LIKE $${params.length} ESCAPE '\\'`);
  }
  const { rows } = await pool.query(
    `SELECT status, count(*)::bigint AS n FROM ${t} WHERE ${where.join(' AND ')} GROUP BY status`,
    params,
  );
  return Object.fromEntries(
    (rows as Array<{ status: string; n: string }>).map((r) => [r.status, Number(r.n)]),
  );
}

/** The (time, id) a cursor names; refuses one handed out for the other order. */
function decodeCursor(cursor: string, updated: boolean): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(v) &&
      Number.isSafeInteger(v[0]) &&
      typeof v[1] === 'string' &&
      v.length === (updated ? 3 : 2) &&
      (!updated || v[2] === 'u')
    )
      return [v[0], v[1]];
  } catch {}
  throw new RegistryError(
    'INVALID_ARGUMENT',
    'list(): cursor is not one this registry handed out.',
  );
}
