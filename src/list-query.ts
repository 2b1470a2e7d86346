import { describeValue, RegistryError } from './errors.js';
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
 * inclusive. Results are ordered by creation time, then ID (or, with
 * `order: 'updated'`, newest-updated first), and paged by `cursor`.
 *
 * @example
 * ```ts
 * await registry.list({ status: ['done', 'error'], type: 'job', limit: 50 });
 * ```
 */
export interface ListFilter {
  status?: InstanceStatusName | readonly InstanceStatusName[];
  type?: string | readonly string[];
  /** Only IDs that start with this string (`'order/'`); case-sensitive. */
  idPrefix?: string;
  /**
   * `'created'` (default): oldest created first. `'updated'`: most recently
   * changed first, as a dashboard shows them; an instance that changes between
   * two pages moves to the top, so it may be missed or seen twice while paging.
   */
  order?: ListOrder;
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

/**
 * The order `list()` returns instances in.
 *
 * @example
 * ```ts
 * const order: ListOrder = 'updated';
 * ```
 */
export type ListOrder = 'created' | 'updated';

export const MAX_LIST_LIMIT = 1000;
const STATUSES: readonly InstanceStatusName[] = ['running', 'done', 'error', 'stopped'];

// Stored times are whole milliseconds from 0 to 8.64e15 (what a Date holds).
const MAX_TIME = 8.64e15;

function toTime(value: TimeInput | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `list(): ${name} is not a valid time; pass a Date, epoch milliseconds or an ISO 8601 string.`,
      { details: { [name]: describeValue(value) } },
    );
  }
  // As a bound on whole stored times, within their range: the same page, and
  // a value every store can compare (a database's bigint column takes no 1.5 or 1e300).
  const bounded = Math.min(Math.max(ms, -1), MAX_TIME + 1);
  return name.endsWith('From') ? Math.ceil(bounded) : Math.floor(bounded);
}

function toSet<T extends string>(value: T | readonly T[] | undefined): Set<T> | undefined {
  if (value === undefined) return undefined;
  return new Set(typeof value === 'string' ? [value] : value);
}

/**
 * The `type` of a list or count filter (a type name or a list of them) as a
 * set; throws `INVALID_ARGUMENT` for anything else, naming `call`.
 *
 * @example
 * ```ts
 * typesOf(['job', 'approval'], 'counts()'); // Set { 'job', 'approval' }
 * ```
 */
export function typesOf(value: unknown, call: string): Set<string> | undefined {
  if (
    value !== undefined &&
    typeof value !== 'string' &&
    !(Array.isArray(value) && value.every((t) => typeof t === 'string'))
  )
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `${call}: type must be a machine type name or a list of them.`,
    );
  return toSet(value as string | string[] | undefined);
}

/** The cursor naming `instance` as the last item of a page in `order`. */
export function encodeCursor(instance: Instance, order: ListOrder = 'created'): string {
  const key =
    order === 'updated'
      ? [instance.updatedAt, instance.id, 'u']
      : [instance.createdAt, instance.id];
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * The (time, id) a cursor names: createdAt, or updatedAt for `order: 'updated'`.
 * Throws `INVALID_ARGUMENT` for one we did not hand out, or one of the other order.
 */
export function decodeCursor(cursor: string, order: ListOrder = 'created'): [number, string] {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parsed) &&
      // A time a Date can hold, as every instance's is: 1e300 named no instance and paged nothing.
      typeof parsed[0] === 'number' &&
      Math.abs(parsed[0]) <= 8.64e15 &&
      typeof parsed[1] === 'string' &&
      parsed.length === (order === 'updated' ? 3 : 2) &&
      (order !== 'updated' || parsed[2] === 'u')
    ) {
      return [parsed[0], parsed[1]];
    }
  } catch {}
  throw new RegistryError(
    'INVALID_ARGUMENT',
    `list(): cursor is not one this registry handed out for order '${order}'; pass the \`cursor\` of the previous page unchanged, with the same order.`,
  );
}

const byCreation = (a: Instance, b: Instance) =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** Newest-updated first, then ID descending, so the order is total. */
const byUpdateDesc = (a: Instance, b: Instance) =>
  b.updatedAt - a.updatedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** A validated {@link ListFilter}: times in epoch ms, sets for the lists. */
export interface NormalizedFilter {
  statuses: Set<InstanceStatusName> | undefined;
  types: Set<string> | undefined;
  idPrefix: string | undefined;
  order: ListOrder;
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
  if (
    filter.status !== undefined &&
    typeof filter.status !== 'string' &&
    !Array.isArray(filter.status)
  )
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `list(): status must be one of ${STATUSES.join(', ')}, or a list of them.`,
    );
  const types = typesOf(filter.type, 'list()');
  const statuses = toSet(filter.status);
  for (const s of statuses ?? []) {
    if (!STATUSES.includes(s)) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `list(): unknown status ${JSON.stringify(s)}; use one of ${STATUSES.join(', ')}.`,
      );
    }
  }
  if (filter.idPrefix !== undefined && typeof filter.idPrefix !== 'string') {
    throw new RegistryError('INVALID_ARGUMENT', 'list(): idPrefix must be a string.');
  }
  const order = filter.order ?? 'created';
  if (order !== 'created' && order !== 'updated') {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `list(): unknown order ${JSON.stringify(order)}; use 'created' or 'updated'.`,
    );
  }
  if (filter.cursor !== undefined) decodeCursor(filter.cursor, order);
  return {
    statuses,
    types,
    idPrefix: filter.idPrefix || undefined,
    order,
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
  const f = normalizeFilter(filter);
  const { statuses, types, idPrefix, order, createdFrom, createdTo, updatedFrom, updatedTo } = f;
  const after = f.cursor === undefined ? undefined : decodeCursor(f.cursor, order);
  const isPast =
    order === 'updated'
      ? (inst: Instance, [at, id]: [number, string]) =>
          inst.updatedAt > at || (inst.updatedAt === at && inst.id >= id)
      : (inst: Instance, [at, id]: [number, string]) =>
          inst.createdAt < at || (inst.createdAt === at && inst.id <= id);

  const matches: Instance[] = [];
  for (const inst of all) {
    if (statuses && !statuses.has(inst.status)) continue;
    if (types && !types.has(inst.type)) continue;
    if (idPrefix !== undefined && !inst.id.startsWith(idPrefix)) continue;
    if (createdFrom !== undefined && inst.createdAt < createdFrom) continue;
    if (createdTo !== undefined && inst.createdAt > createdTo) continue;
    if (updatedFrom !== undefined && inst.updatedAt < updatedFrom) continue;
    if (updatedTo !== undefined && inst.updatedAt > updatedTo) continue;
    if (after && isPast(inst, after)) continue;
    matches.push(inst);
  }
  matches.sort(order === 'updated' ? byUpdateDesc : byCreation);
  const items = matches.slice(0, f.limit);
  const last = items[items.length - 1];
  return matches.length > f.limit && last
    ? { items, cursor: encodeCursor(last, order) }
    : { items };
}
