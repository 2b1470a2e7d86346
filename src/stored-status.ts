import { assertRecordOf, decodeRecord } from './hydration.js';
import type { Instance } from './instance.js';
import type { ResolvedMachine } from './machines.js';
import { type InstanceStatus, statusOf } from './status.js';
import type { Store } from './stores/store.js';

/**
 * The status of an instance this process holds, reading a passivated one's
 * record back from the store rather than activating it.
 *
 * @example
 * ```ts
 * const status = await storedStatus(store, machines, instance);
 * ```
 */
export async function storedStatus(
  store: Pick<Store, 'read'>,
  machines: Map<string, ResolvedMachine>,
  instance: Instance,
): Promise<InstanceStatus> {
  if (!instance.passive || instance.frozen) return statusOf(instance);
  const text = await store.read(instance.id);
  const decoded = text === undefined ? undefined : decodeRecord(text, machines);
  // Another instance's record in its place is not shown as its state (activation sets it aside).
  if (decoded) assertRecordOf(decoded.record, instance.id, instance.type);
  return statusOf(instance, decoded?.snapshot, decoded?.record.timers);
}
