import type { Instance } from './instance.js';
import {
  decodeCursor,
  encodeCursor,
  type ListFilter,
  type ListPage,
  normalizeFilter,
} from './list-query.js';
import type { InstanceStatusName } from './record.js';

const before = (a: Instance, b: Instance) =>
  a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.id < b.id);

/**
 * Instances in creation order (then ID). Appends are O(1); out-of-order inserts
 * (a restore loads in store order) wait in `pending` and are merged in by the
 * next read, so n inserts cost O(n log n), not O(n²).
 */
class CreationOrder {
  items: Instance[] = [];
  #pending: Instance[] = [];

  add(instance: Instance): void {
    const last = this.items[this.items.length - 1];
    if (this.#pending.length === 0 && (!last || before(last, instance))) this.items.push(instance);
    else this.#pending.push(instance);
  }

  /** The items, sorted, with the pending ones merged in. */
  sorted(): Instance[] {
    if (this.#pending.length === 0) return this.items;
    const extra = this.#pending.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    this.#pending = [];
    const merged: Instance[] = new Array(this.items.length + extra.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < this.items.length || j < extra.length) {
      const a = this.items[i];
      const b = extra[j];
      if (b === undefined || (a !== undefined && before(a, b))) {
        merged[k++] = a as Instance;
        i++;
      } else {
        merged[k++] = b;
        j++;
      }
    }
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

/**
 * The registry's map of instances by ID, with the indexes `list()` is served
 * from: creation order, and creation order per type and per status. A page
 * seeks to its cursor (or `createdFrom`) by binary search and reads on from
 * there, so it costs time in proportion to the page, not to all instances.
 * Entries of purged instances, and of statuses an instance has left, are
 * skipped when met and swept once they outnumber the live ones.
 *
 * @example
 * ```ts
 * const instances = new InstanceIndex();
 * instances.set(instance.id, instance);
 * instances.page({ status: 'running', limit: 50 });
 * ```
 */
export class InstanceIndex extends Map<string, Instance> {
  #all = new CreationOrder();
  #byType = new Map<string, CreationOrder>();
  #byStatus = new Map<InstanceStatusName, CreationOrder>();
  #stale = 0;

  override set(id: string, instance: Instance): this {
    const previous = super.get(id);
    super.set(id, instance);
    if (previous === instance) return this;
    if (previous) this.#stale++;
    this.#all.add(instance);
    orderIn(this.#byType, instance.type).add(instance);
    this.touch(instance);
    return this;
  }

  override delete(id: string): boolean {
    const had = super.delete(id);
    if (!had) return false;
    // The last one gone: every entry is stale, and dropping them all is O(1), so
    // no removed instance (and its actor) waits in the lists for a sweep.
    if (super.size === 0) this.#reset();
    else {
      this.#stale++;
      this.#sweepIfStale();
    }
    return true;
  }

  override clear(): void {
    super.clear();
    this.#reset();
  }

  #reset(): void {
    this.#all = new CreationOrder();
    this.#byType.clear();
    this.#byStatus.clear();
    this.#stale = 0;
  }

  /** Files `instance` under its current status; the registry calls it on every change. */
  touch(instance: Instance): void {
    const bit = STATUS_BIT[instance.status];
    if (instance.listed & bit) return;
    if (instance.listed !== 0) this.#stale++;
    instance.listed |= bit;
    orderIn(this.#byStatus, instance.status).add(instance);
    this.#sweepIfStale();
  }

  /** One page of the instances `filter` selects, in creation order. */
  page(filter: ListFilter = {}): ListPage<Instance> {
    const f = normalizeFilter(filter);
    const after = f.cursor === undefined ? undefined : decodeCursor(f.cursor);
    // Read the smaller of the status and type indexes; check the other filters on each entry.
    const byStatus = f.statuses && [...f.statuses].map((s) => this.#byStatus.get(s));
    const byType = f.types && [...f.types].map((t) => this.#byType.get(t));
    const size = (lists: Array<CreationOrder | undefined>) =>
      lists.reduce((n, l) => n + (l?.items.length ?? 0), 0);
    const lists =
      byStatus && (!byType || size(byStatus) <= size(byType)) ? byStatus : (byType ?? [this.#all]);
    const sources = lists.filter((l): l is CreationOrder => l !== undefined);

    // Each source from its start position; a k-way merge keeps creation order across them.
    const heads = sources.map((source) => {
      let pos = 0;
      if (f.createdFrom !== undefined) pos = source.seek(f.createdFrom - 0.5, undefined);
      if (after) pos = Math.max(pos, source.seek(after[0], after[1]));
      return { items: source.sorted(), pos };
    });
    const items: Instance[] = [];
    let more = false;
    for (;;) {
      let best: (typeof heads)[number] | undefined;
      for (const head of heads) {
        const candidate = head.items[head.pos];
        const current = best?.items[best.pos];
        if (candidate && (!current || before(candidate, current))) best = head;
      }
      const next = best?.items[best.pos];
      if (!best || !next) break;
      best.pos++;
      if (f.createdTo !== undefined && next.createdAt > f.createdTo) break;
      if (super.get(next.id) !== next) continue;
      if (f.statuses && !f.statuses.has(next.status)) continue;
      if (f.types && !f.types.has(next.type)) continue;
      if (f.updatedFrom !== undefined && next.updatedAt < f.updatedFrom) continue;
      if (f.updatedTo !== undefined && next.updatedAt > f.updatedTo) continue;
      // Multiple status sources: an instance filed under two of them appears in both.
      if (items.length > 0 && items[items.length - 1] === next) continue;
      if (items.length === f.limit) {
        more = true;
        break;
      }
      items.push(next);
    }
    const last = items[items.length - 1];
    return more && last ? { items, cursor: encodeCursor(last) } : { items };
  }

  #sweepIfStale(): void {
    if (this.#stale < 1024 || this.#stale < this.size) return;
    this.#stale = 0;
    const live = (instance: Instance) => super.get(instance.id) === instance;
    this.#all.keep(live);
    for (const [type, list] of this.#byType) {
      list.keep(live);
      if (list.items.length === 0) this.#byType.delete(type);
    }
    for (const [status, list] of this.#byStatus) {
      list.keep((instance) => live(instance) && instance.status === status);
      if (list.items.length === 0) this.#byStatus.delete(status);
    }
    for (const instance of this.values()) instance.listed = STATUS_BIT[instance.status];
  }
}

const STATUS_BIT: Record<InstanceStatusName, number> = {
  running: 1,
  done: 2,
  error: 4,
  stopped: 8,
};

function orderIn<K>(map: Map<K, CreationOrder>, key: K): CreationOrder {
  let order = map.get(key);
  if (!order) {
    order = new CreationOrder();
    map.set(key, order);
  }
  return order;
}
