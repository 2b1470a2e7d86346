import type { AnyActor } from 'xstate';
import { assertInstanceId } from './instance-id.js';
import type { ListFilter, ListPage } from './list-query.js';
import { assertType, machineOf, type RegistryParts } from './registry-parts.js';
import type { InstanceStatus } from './status.js';
import { storedStatus } from './stored-status.js';
import type { SetAsidePage, SetAsideQuery } from './stores/store.js';

/**
 * `registry.getStatus`: the status of `id`, or `undefined` if there is no such
 * instance (with a cluster store, one held by another process is read from the
 * store); with a `type`, `TYPE_MISMATCH` if the instance has another type.
 *
 * @example
 * ```ts
 * const status = await readStatus(parts, 'nightly', 'job');
 * ```
 */
export async function readStatus(
  parts: RegistryParts,
  id: string,
  type?: string,
): Promise<InstanceStatus | undefined> {
  assertInstanceId(id);
  if (type !== undefined) machineOf(parts.machines, type);
  await parts.gate.ready();
  const instance = parts.instances.get(id);
  const status =
    !instance && parts.cluster
      ? await parts.cluster.remoteStatus(id)
      : instance && (await storedStatus(parts.store, parts.machines, instance));
  if (status && type !== undefined) assertType(id, status.type, type);
  return status;
}

/**
 * `registry.list`: one page of statuses, ordered by creation time.
 *
 * @example
 * ```ts
 * const page = await listStatuses(parts, { status: 'running', limit: 50 });
 * ```
 */
export async function listStatuses(
  parts: RegistryParts,
  filter: ListFilter,
): Promise<ListPage<InstanceStatus>> {
  await parts.gate.ready();
  if (parts.cluster) return parts.cluster.list(filter);
  const page = parts.instances.page(filter);
  const result: ListPage<InstanceStatus> = {
    items: await Promise.all(page.items.map((i) => storedStatus(parts.store, parts.machines, i))),
  };
  if (page.cursor) result.cursor = page.cursor;
  return result;
}

/**
 * `registry.get`: the live, running actor for `id`, or `undefined`. Synchronous.
 *
 * @example
 * ```ts
 * liveActor(parts, 'nightly')?.send({ type: 'CANCEL' });
 * ```
 */
export function liveActor(parts: RegistryParts, id: string): AnyActor | undefined {
  const instance = parts.instances.get(id);
  return instance?.status === 'running' ? instance.actor : undefined;
}

/**
 * `registry.quarantined(query)`: a page of the records the store set aside,
 * newest first; `undefined` when the store cannot list them.
 *
 * @example
 * ```ts
 * for (const r of (await listQuarantined(parts))?.items ?? []) console.warn(r.key, r.reason);
 * ```
 */
export async function listQuarantined(
  parts: RegistryParts,
  query?: SetAsideQuery,
): Promise<SetAsidePage | undefined> {
  await parts.gate.ready();
  const { store } = parts;
  return store.listSetAside ? await store.listSetAside(query) : undefined;
}
