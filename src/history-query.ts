import { RegistryError } from './errors.js';
import { type HistoryEntry, type HistoryPage, historyPage, historyPaging } from './history.js';
import { assertRecordOf } from './hydration.js';
import { assertInstanceId } from './instance-id.js';
import { parseRecord } from './record.js';
import type { RegistryParts } from './registry-parts.js';

/**
 * One page of the history of instance `id`, oldest first (`registry.history`):
 * from memory for a live or finished instance, from its stored record for a
 * passive one or, with a cluster store, one hosted by another process.
 * `INSTANCE_NOT_FOUND` for an unknown ID; an empty page when its type keeps none.
 *
 * @example
 * ```ts
 * const { items, cursor } = await readHistory(parts, 'order-7', { limit: 20 });
 * ```
 */
export async function readHistory(
  parts: RegistryParts,
  id: string,
  options?: { cursor?: string | null; limit?: number },
): Promise<HistoryPage> {
  assertInstanceId(id);
  const paging = historyPaging(options);
  await parts.gate.ready();
  const instance = parts.instances.get(id);
  let type = instance?.type;
  let entries: readonly HistoryEntry[] | undefined = instance?.history?.entries;
  if (!entries && (instance ? instance.def.history : parts.cluster)) {
    // Passive (its journal is in its record) or hosted elsewhere.
    const text = await parts.store.read(id);
    if (text !== undefined) {
      const record = parseRecord(text);
      // Another instance's record in its place: its journal is not shown as this one's.
      assertRecordOf(record, id, instance?.type);
      type = record.type;
      entries = record.history?.entries;
    }
  }
  if (type === undefined) {
    throw new RegistryError(
      'INSTANCE_NOT_FOUND',
      `No instance '${id}'; create it with spawnSingleton first.`,
      { details: { id } },
    );
  }
  const config = parts.machines.get(type)?.history;
  if (!config || !entries) return { items: [], cursor: null };
  return historyPage(entries, paging, config);
}
