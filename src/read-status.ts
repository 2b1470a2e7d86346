import { decodeRecord } from './hydration.js';
import type { Instance } from './instance.js';
import { assertInstanceId } from './instance-id.js';
import type { ListFilter, ListPage } from './list-query.js';
import { assertType, machineOf, type RegistryParts } from './registry-parts.js';
import { type InstanceStatus, statusOf } from './status.js';

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
      : instance && (await storedStatus(parts, instance));
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
  if (parts.cluster) return parts.cluster.list(filter, (i) => storedStatus(parts, i));
  const page = parts.instances.page(filter);
  const result: ListPage<InstanceStatus> = {
    items: await Promise.all(page.items.map((i) => storedStatus(parts, i))),
  };
  if (page.cursor) result.cursor = page.cursor;
  return result;
}

/**
 * The status, reading a passivated instance's record back from the store rather than activating it.
 *
 * @example
 * ```ts
 * const status = await storedStatus(parts, instance);
 * ```
 */
export async function storedStatus(
  parts: RegistryParts,
  instance: Instance,
): Promise<InstanceStatus> {
  if (!instance.passive || instance.frozen) return statusOf(instance);
  const text = await parts.store.read(instance.id);
  return statusOf(
    instance,
    text === undefined ? undefined : decodeRecord(text, parts.machines).snapshot,
  );
}
