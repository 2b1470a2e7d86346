import type { Instance } from './instance.js';
import { mergePending } from './sorted-merge.js';

/**
 * Creation order: creation time, then ID, so instances created in the same
 * millisecond still have one stable order across pages.
 *
 * @example
 * ```ts
 * const first = createdBefore(a, b) ? a : b;
 * ```
 */
export const createdBefore = (a: Instance, b: Instance) =>
  a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.id < b.id);

/**
 * Instances in creation order (then ID). Appends are O(1); out-of-order inserts
 * (a restore loads in store order) wait in `pending` and are merged in by the
 * next read, so n inserts cost O(n log n), not O(n²). The instance index keeps
 * one for all instances and one per type and per status.
 *
 * @example
 * ```ts
 * const order = new CreationOrder();
 * order.add(instance);
 * const page = order.sorted().slice(order.seek(createdFrom, undefined), 50);
 * ```
 */
export class CreationOrder {
  items: Instance[] = [];
  #pending: Instance[] = [];

  add(instance: Instance): void {
    const last = this.items[this.items.length - 1];
    if (this.#pending.length === 0 && (!last || createdBefore(last, instance)))
      this.items.push(instance);
    else this.#pending.push(instance);
  }

  /** The items, sorted, with the pending ones merged in. */
  sorted(): Instance[] {
    if (this.#pending.length === 0) return this.items;
    const merged = mergePending(this.items, this.#pending, createdBefore, createdBefore);
    this.#pending = [];
    this.items = merged;
    return merged;
  }

  /** The first position whose instance sorts after (createdAt, id); without `id`, the first at or after `createdAt`. */
  seek(createdAt: number, id: string | undefined): number {
    const items = this.sorted();
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = items[mid] as Instance;
      const isBefore =
        m.createdAt < createdAt || (id !== undefined && m.createdAt === createdAt && m.id <= id);
      if (isBefore) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  keep(test: (instance: Instance) => boolean): void {
    this.items = this.sorted().filter(test);
  }
}
