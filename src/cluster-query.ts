import { RegistryError } from './errors.js';
import { statusOfStoredText } from './foreign-record.js';
import type { CountFilter } from './instance-index.js';
import type { InstanceTable } from './instance-table.js';
import { type ListFilter, type ListPage, normalizeFilter } from './list-query.js';
import type { ResolvedMachine } from './machines.js';
import type { RegistryEmitter } from './registry-events.js';
import type { InstanceStatus } from './status.js';
import type { StatusCounts } from './status-tally.js';
import { storedStatus } from './stored-status.js';
import type { ClusterStore } from './stores/cluster-store.js';

// `list()` and `counts()` across every process of a cluster: answered by the
// store's queries, since most instances are hosted elsewhere.

/**
 * What the cluster's queries read: the store, this process's machines and
 * instances, and the emitter that hears of a damaged row.
 *
 * @example
 * ```ts
 * const q: ClusterQueryDeps = { store, machines, instances, emitter };
 * ```
 */
export interface ClusterQueryDeps {
  store: ClusterStore;
  machines: Map<string, ResolvedMachine>;
  instances: InstanceTable;
  emitter: RegistryEmitter;
}

/**
 * `list()` served by the store's query, with this process's fresher state for
 * the instances it hosts.
 *
 * @example
 * ```ts
 * const page = await listCluster(deps, { status: 'running', limit: 50 });
 * ```
 */
export async function listCluster(
  d: ClusterQueryDeps,
  filter: ListFilter,
): Promise<ListPage<InstanceStatus>> {
  const f = normalizeFilter(filter);
  const page = await d.store.query({
    ...(f.idPrefix ? { idPrefix: f.idPrefix } : {}),
    order: f.order,
    ...(f.statuses ? { status: [...f.statuses] } : {}),
    ...(f.types ? { type: [...f.types] } : {}),
    ...(f.createdFrom !== undefined ? { createdFrom: f.createdFrom } : {}),
    ...(f.createdTo !== undefined ? { createdTo: f.createdTo } : {}),
    ...(f.updatedFrom !== undefined ? { updatedFrom: f.updatedFrom } : {}),
    ...(f.updatedTo !== undefined ? { updatedTo: f.updatedTo } : {}),
    limit: f.limit,
    ...(f.cursor !== undefined ? { cursor: f.cursor } : {}),
  });
  const statuses = await Promise.all(
    page.texts.map(async (text) => {
      try {
        const status = statusOfStoredText(text, d.machines);
        const here = d.instances.get(status.id);
        return here ? await storedStatus(d.store, d.machines, here) : status;
      } catch (err) {
        // One damaged row must not hide the others: report it and list the rest.
        reportClusterError(d.emitter, err);
        return undefined;
      }
    }),
  );
  const items = statuses.filter((s): s is InstanceStatus => s !== undefined);
  return page.cursor ? { items, cursor: page.cursor } : { items };
}

/**
 * `counts()` of every process's stored instances, counted by the store.
 *
 * @example
 * ```ts
 * const { running, total } = await countCluster(store, { type: 'order' });
 * ```
 */
export async function countCluster(
  store: ClusterStore,
  filter: CountFilter,
): Promise<StatusCounts> {
  if (!store.counts)
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'counts() is not available with this cluster store; page through list({ status }) instead.',
    );
  const types =
    filter.type === undefined
      ? undefined
      : typeof filter.type === 'string'
        ? [filter.type]
        : filter.type;
  const by = await store.counts({
    ...(types ? { type: types } : {}),
    ...(filter.idPrefix ? { idPrefix: filter.idPrefix } : {}),
  });
  const out: StatusCounts = { running: 0, done: 0, error: 0, stopped: 0, total: 0 };
  for (const s of ['running', 'done', 'error', 'stopped'] as const) out[s] = by[s] ?? 0;
  out.total = out.running + out.done + out.error + out.stopped;
  return out;
}

/**
 * Reports a failure of the cluster's background work (a takeover, a damaged
 * row in a listing) as an `error` event.
 *
 * @example
 * ```ts
 * reportClusterError(emitter, new Error('connection reset'));
 * ```
 */
export function reportClusterError(emitter: RegistryEmitter, err: unknown): void {
  emitter.emit(
    'error',
    err instanceof RegistryError
      ? err
      : new RegistryError('RESTORE_FAILED', 'Taking over an orphaned instance failed.', {
          cause: err,
        }),
  );
}
