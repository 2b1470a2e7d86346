import { RegistryError } from '../errors.js';
import type { InstanceStatusName } from '../record.js';
import type { InstanceStatus } from '../status.js';

/**
 * Which changes one event stream (one dashboard tab) is sent.
 *
 * @example
 * ```ts
 * const filter: StreamFilter = { idPrefix: 'order/', limit: 50 };
 * ```
 */
export interface StreamFilter {
  /** Exactly this instance, with its full status (the instance page). */
  id?: string;
  statuses?: Set<InstanceStatusName>;
  types?: Set<string>;
  idPrefix?: string;
  /** The most statuses one message carries: the tab's page size. */
  limit: number;
}

const STATUSES = ['running', 'done', 'error', 'stopped'];
/** A context whose JSON is longer than this is left out of a row's summary. */
const MAX_SUMMARY_CONTEXT = 1024;

/**
 * The filter of `GET /events?status=&type=&idPrefix=&id=&limit=`: the same
 * parameters as `GET /instances`, so a tab streams what it lists.
 *
 * @example
 * ```ts
 * streamFilter(new URLSearchParams('status=running&limit=50')); // { statuses: Set {'running'}, limit: 50 }
 * ```
 */
export function streamFilter(params: URLSearchParams): StreamFilter {
  const list = (name: string) =>
    params
      .getAll(name)
      .flatMap((s) => s.split(','))
      .filter(Boolean);
  const statuses = list('status');
  for (const s of statuses) {
    if (!STATUSES.includes(s))
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `?status must be among ${STATUSES.join(', ')}; got ${JSON.stringify(s)}.`,
      );
  }
  const types = list('type');
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? 500 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new RegistryError('INVALID_ARGUMENT', '?limit must be an integer from 1 to 1000.');
  const filter: StreamFilter = { limit };
  const id = params.get('id');
  if (id !== null) filter.id = id;
  if (statuses.length) filter.statuses = new Set(statuses as InstanceStatusName[]);
  if (types.length) filter.types = new Set(types);
  const idPrefix = params.get('idPrefix');
  if (idPrefix) filter.idPrefix = idPrefix;
  return filter;
}

/**
 * Whether `status` is one a stream with `filter` shows.
 *
 * @example
 * ```ts
 * matchesStream(status, { limit: 50, idPrefix: 'order/' });
 * ```
 */
export function matchesStream(status: InstanceStatus, filter: StreamFilter): boolean {
  return !(
    (filter.id !== undefined && status.id !== filter.id) ||
    (filter.statuses && !filter.statuses.has(status.status)) ||
    (filter.types && !filter.types.has(status.type)) ||
    (filter.idPrefix !== undefined && !status.id.startsWith(filter.idPrefix))
  );
}

/**
 * What a dashboard row shows of a status: everything but `output`, and the
 * context only while it is small (the instance page reads the rest).
 *
 * @example
 * ```ts
 * rowSummary(status); // { id, type, status, value, context, createdAt, updatedAt }
 * ```
 */
export function rowSummary(status: InstanceStatus): Record<string, unknown> {
  const { output: _output, context, ...rest } = status as InstanceStatus & { links?: unknown };
  delete (rest as { links?: unknown }).links;
  const text = JSON.stringify(context) ?? '';
  return text.length <= MAX_SUMMARY_CONTEXT
    ? { ...rest, context }
    : { ...rest, contextOmitted: text.length };
}
