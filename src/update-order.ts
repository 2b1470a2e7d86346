import type { Instance } from './instance.js';
import { decodeCursor, encodeCursor, type ListPage, type NormalizedFilter } from './list-query.js';
import { mergePending, mergeRuns } from './sorted-merge.js';

/**
 * One change of an instance: live while it is still the instance's
 * `latestUpdate` (set by the index that files it).
 *
 * @example
 * ```ts
 * const entry: UpdateEntry = { instance, at: instance.updatedAt };
 * ```
 */
export interface UpdateEntry {
  instance: Instance;
  at: number;
}

const before = (a: UpdateEntry, b: UpdateEntry) =>
  a.at < b.at || (a.at === b.at && a.instance.id < b.instance.id);

/**
 * Changes in update order (time, then ID), read newest first. Every change
 * appends an entry, which is O(1) while the clock moves forward; an entry that
 * arrives out of order (a restore loads records in store order) waits in
 * `pending` and is merged in by the next read. Entries that a later change made
 * stale are skipped by readers and dropped by `keep`.
 *
 * @example
 * ```ts
 * const order = new UpdateOrder();
 * order.add({ instance, at: instance.updatedAt });
 * const newest = order.sorted().at(-1);
 * ```
 */
export class UpdateOrder {
  items: UpdateEntry[] = [];
  #pending: UpdateEntry[] = [];

  add(entry: UpdateEntry): void {
    const last = this.items[this.items.length - 1];
    if (this.#pending.length === 0 && (!last || !before(entry, last))) this.items.push(entry);
    else this.#pending.push(entry);
  }

  /** The entries in ascending order, with the pending ones merged in. */
  sorted(): UpdateEntry[] {
    if (this.#pending.length === 0) return this.items;
    const merged = mergePending(this.items, this.#pending, before, (a, b) => !before(b, a));
    this.#pending = [];
    this.items = merged;
    return merged;
  }

  /** The position just past the last entry that sorts before (at, id): reading down from it, newest first. */
  seekBelow(at: number, id: string): number {
    const items = this.sorted();
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = items[mid] as UpdateEntry;
      if (m.at < at || (m.at === at && m.instance.id < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get size(): number {
    return this.items.length + this.#pending.length;
  }

  /** Whether `entry` was the last one added (so raising its `at` keeps the order). */
  isLast(entry: UpdateEntry): boolean {
    const list = this.#pending.length === 0 ? this.items : this.#pending;
    return list[list.length - 1] === entry;
  }

  keep(test: (entry: UpdateEntry) => boolean): void {
    this.items = this.sorted().filter(test);
  }
}

/** Whether update entry `a` sorts after `b` (newer, or as new with a greater ID). */
const isNewer = (a: UpdateEntry, b: UpdateEntry) =>
  a.at > b.at || (a.at === b.at && a.instance.id > b.instance.id);

/**
 * One page, newest-updated first: a k-way merge of `sources` read downwards
 * from the cursor, keeping the entries `keep` accepts (live, and matching).
 *
 * @example
 * ```ts
 * pageByUpdate([all], normalizeFilter({ order: 'updated', limit: 50 }), isLive);
 * ```
 */
export function pageByUpdate(
  sources: UpdateOrder[],
  f: NormalizedFilter,
  keep: (entry: UpdateEntry) => boolean,
): ListPage<Instance> {
  const after = f.cursor === undefined ? undefined : decodeCursor(f.cursor, 'updated');
  const heads = sources.map((source) => {
    const items = source.sorted();
    return { items, pos: (after ? source.seekBelow(after[0], after[1]) : items.length) - 1 };
  });
  const items: Instance[] = [];
  let more = false;
  for (const entry of mergeRuns(heads, isNewer, -1)) {
    if (!keep(entry)) continue;
    if (items.length === f.limit) {
      more = true;
      break;
    }
    items.push(entry.instance);
  }
  const last = items[items.length - 1];
  return more && last ? { items, cursor: encodeCursor(last, 'updated') } : { items };
}
