import { RegistryError } from '../errors.js';
import type { ListFilter } from '../list-query.js';

/**
 * Encodes an instance ID as one URL path segment. `encodeURIComponent`, except
 * for the IDs `.` and `..`: URL parsers remove those segments (even as `%2E`),
 * so they travel as `~.` and `~..`, and the IDs `~.` and `~..` as `%7E.` and `%7E..`.
 *
 * @example
 * ```ts
 * fetch(`${base}/instances/${encodeInstanceId('tenant/42')}`); // /instances/tenant%2F42
 * ```
 */
export function encodeInstanceId(id: string): string {
  if (id === '.' || id === '..') return `~${id}`;
  if (id === '~.' || id === '~..') return `%7E${id.slice(1)}`;
  return encodeURIComponent(id);
}

/**
 * Decodes one path segment made by {@link encodeInstanceId}; throws `INVALID_INSTANCE_ID` for bad percent-encoding.
 *
 * @example
 * ```ts
 * decodeSegment('tenant%2F42'); // 'tenant/42'
 * ```
 */
export function decodeSegment(segment: string): string {
  if (segment === '~.' || segment === '~..') return segment.slice(1);
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RegistryError(
      'INVALID_INSTANCE_ID',
      'The path has malformed percent-encoding; encode IDs with encodeURIComponent.',
    );
  }
}

/**
 * A whole-number query parameter, 0 when absent, capped at `max`.
 *
 * @example
 * ```ts
 * intParam(new URLSearchParams('waitMs=500'), 'waitMs', 0, 60_000); // 500
 * ```
 */
export function intParam(params: URLSearchParams, name: string, min: number, max: number): number {
  const value = params.get(name);
  if (value === null) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `?${name} must be a whole number of at least ${min}.`,
    );
  return Math.min(n, max);
}

/**
 * A query parameter that must be one of `values`, or `undefined` when absent.
 *
 * @example
 * ```ts
 * enumParam(new URLSearchParams('ifRunning=return'), 'ifRunning', ['throw', 'return']); // 'return'
 * ```
 */
export function enumParam<T extends string>(
  params: URLSearchParams,
  name: string,
  values: readonly T[],
): T | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!values.includes(value as T))
    throw new RegistryError('INVALID_ARGUMENT', `?${name} must be one of ${values.join(', ')}.`);
  return value as T;
}

/**
 * The `registry.list` filter that `GET /instances?...` asks for.
 *
 * @example
 * ```ts
 * listFilter(new URLSearchParams('status=running,done&limit=10')); // { status: ['running', 'done'], limit: 10 }
 * ```
 */
export function listFilter(params: URLSearchParams): ListFilter {
  const filter: ListFilter = {};
  const statuses = params
    .getAll('status')
    .flatMap((s) => s.split(','))
    .filter(Boolean);
  if (statuses.length) filter.status = statuses as ListFilter['status'] & string[];
  const types = params
    .getAll('type')
    .flatMap((s) => s.split(','))
    .filter(Boolean);
  if (types.length) filter.type = types;
  const idPrefix = params.get('idPrefix');
  if (idPrefix) filter.idPrefix = idPrefix;
  const order = params.get('order');
  if (order !== null) filter.order = order as ListFilter['order'] & string;
  for (const key of ['createdFrom', 'createdTo', 'updatedFrom', 'updatedTo'] as const) {
    const v = params.get(key);
    if (v !== null) filter[key] = /^\d+$/.test(v) ? Number(v) : v;
  }
  const limit = params.get('limit');
  if (limit !== null) filter.limit = Number(limit);
  const cursor = params.get('cursor');
  if (cursor !== null) filter.cursor = cursor;
  return filter;
}
