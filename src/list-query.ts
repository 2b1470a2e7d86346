import { RegistryError } from './errors.js';
import type { Instance } from './instance.js';
import type { InstanceStatusName } from './record.js';

/**
 * A moment in time: a `Date`, epoch milliseconds, or an ISO 8601 string.
 *
 * @example
 * ```ts
 * await registry.list({ createdFrom: '2026-11-01', updatedTo: Date.now() });
 * ```
 */
export type TimeInput = Date | number | string;

/**
 * Which instances `registry.list()` returns. Every field is optional; ranges are
 * inclusive. Results are ordered by creation time, then ID, and paged by `cursor`.
 *
 * @example
 * ```ts
 * await registry.list({ status: ['done', 'error'], type: 'job', limit: 50 });
 * ```
 */
export interface ListFilter {
  status?: InstanceStatusName | readonly InstanceStatusName[];
  type?: string | readonly string[];
  createdFrom?: TimeInput;
  createdTo?: TimeInput;
  updatedFrom?: TimeInput;
  updatedTo?: TimeInput;
  /** Page size, 1 to 1000. Default 100. */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
}

/**
 * One page of statuses, and the cursor of the next page if there is one.
 *
 * @example
 * ```ts
 * const { items, cursor } = await registry.list({ limit: 10 });
 * ```
 */
export interface ListPage<T> {
  items: T[];
  cursor?: string;
}

export const MAX_LIST_LIMIT = 1000;
const STATUSES: readonly InstanceStatusName[] = ['running', 'done', 'error', 'stopped'];

function toTime(value: TimeInput | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `list(): ${name} is not a valid time; pass a Date, epoch milliseconds or an ISO 8601 string.`,
      { details: { [name]: String(value) } },
    );
  }
  return ms;
}

function toSet<T extends string>(value: T | readonly T[] | undefined): Set<T> | undefined {
  if (value === undefined) return undefined;
  return new Set(typeof value === 'string' ? [value] : value);
}

/** The cursor naming `instance` as the last item of a page. */
export function encodeCursor(instance: Instance): string {
  return Buffer.from(JSON.stringify([instance.createdAt, instance.id])).toString('base64url');
}

/** The (createdAt, id) a cursor names; throws `INVALID_ARGUMENT` for one we did not hand out. */
export function decodeCursor(cursor: string): [number, string] {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && typeof parsed[0] === 'number' && typeof parsed[1] === 'string') {
      return [parsed[0], parsed[1]];
    }
  } catch {}
  throw new RegistryError(
    'INVALID_ARGUMENT',
    'list(): cursor is not one this registry handed out; pass the `cursor` of the previous page unchanged.',
  );
}

const byCreation = (a: Instance, b: Instance) =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A validated {@link ListFilter}: times in epoch ms, sets for the lists. */
export interface NormalizedFilter {
  statuses: Set<InstanceStatusName> | undefined;
  types: Set<string> | undefined;
  createdFrom: number | undefined;
  createdTo: number | undefined;
  updatedFrom: number | undefined;
  updatedTo: number | undefined;
  limit: number;
  cursor: string | undefined;
}

/** Validates a list filter (throws `INVALID_ARGUMENT`) and normalises it. */
export function normalizeFilter(filter: ListFilter = {}): NormalizedFilter {
  if (filter === null || typeof filter !== 'object') {
    throw new RegistryError('INVALID_ARGUMENT', 'list() takes a filter object.');
  }
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `list(): limit must be an integer from 1 to ${MAX_LIST_LIMIT}.`,
      { details: { limit } },
    );
  }
  const statuses = toSet(filter.status);
  for (const s of statuses ?? []) {
    if (!STATUSES.includes(s)) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `list(): unknown status ${JSON.stringify(s)}; use one of ${STATUSES.join(', ')}.`,
      );
    }
  }
  if (filter.cursor !== undefined) decodeCursor(filter.cursor);
  return {
    statuses,
    types: toSet(filter.type),
    createdFrom: toTime(filter.createdFrom, 'createdFrom'),
    createdTo: toTime(filter.createdTo, 'createdTo'),
    updatedFrom: toTime(filter.updatedFrom, 'updatedFrom'),
    updatedTo: toTime(filter.updatedTo, 'updatedTo'),
    limit,
    cursor: filter.cursor,
  };
}

/**
 * Selects one page of instances by scanning them all. The cursor names the last
 * item returned, so paging stays stable while instances are created or purged
 * between pages. The registry serves `list()` from the instance table's indexes instead; this
 * scan is the reference its tests compare it with.
 */
export function queryInstances(
  all: Iterable<Instance>,
  filter: ListFilter = {},
): ListPage<Instance> {
  const { statuses, types, createdFrom, createdTo, updatedFrom, updatedTo, limit, cursor } =
    normalizeFilter(filter);
  const after = cursor === undefined ? undefined : decodeCursor(cursor);

  const matches: Instance[] = [];
  for (const inst of all) {
    if (statuses && !statuses.has(inst.status)) continue;
    if (types && !types.has(inst.type)) continue;
    if (createdFrom !== undefined && inst.createdAt < createdFrom) continue;
    if (createdTo !== undefined && inst.createdAt > createdTo) continue;
    if (updatedFrom !== undefined && inst.updatedAt < updatedFrom) continue;
    if (updatedTo !== undefined && inst.updatedAt > updatedTo) continue;
    if (
      after &&
      (inst.createdAt < after[0] || (inst.createdAt === after[0] && inst.id <= after[1]))
    )
      continue;
    matches.push(inst);
  }
  matches.sort(byCreation);
  const items = matches.slice(0, limit);
  const last = items[items.length - 1];
  return matches.length > limit && last ? { items, cursor: encodeCursor(last) } : { items };
}
