import { CreationOrder, createdBefore } from './creation-order.js';
import { IdOrder } from './id-order.js';
import type { Instance } from './instance.js';
import {
  decodeCursor,
  encodeCursor,
  type ListFilter,
  type ListPage,
  type NormalizedFilter,
  normalizeFilter,
  queryInstances,
} from './list-query.js';
import type { InstanceStatusName } from './record.js';
import { mergeRuns } from './sorted-merge.js';
import { type StatusCounts, StatusTally } from './status-tally.js';
import { pageByUpdate, type UpdateEntry, UpdateOrder } from './update-order.js';

/**
 * Which instances {@link InstanceIndex.counts} counts.
 *
 * @example
 * ```ts
 * const filter: CountFilter = { type: 'job', idPrefix: 'nightly/' };
 * ```
 */
export interface CountFilter {
  type?: string | readonly string[];
  idPrefix?: string;
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
  #ids = new IdOrder();
  #idStale = 0;
  #updated = new UpdateOrder();
  #updatedByType = new Map<string, UpdateOrder>();
  #updatedByStatus = new Map<InstanceStatusName, UpdateOrder>();
  #tally = new StatusTally();
  /**
   * Instances changed since the update orders were last read, each once (its
   * `latestUpdate` is {@link UNFILED} meanwhile). Only `list({ order: 'updated' })`
   * reads those orders, so a change costs a push here, not three sorted
   * insertions: sends that go round 100 actors cost as much as a burst to one,
   * and a burst files its instance once.
   */
  #unfiled: Instance[] = [];

  override set(id: string, instance: Instance): this {
    const previous = super.get(id);
    super.set(id, instance);
    if (previous === instance) return this;
    if (previous) {
      this.#stale++;
      this.#tally.uncount(previous);
    } else this.#ids.add(id);
    if (instance.listed !== 0) this.#forget(instance);
    this.#all.add(instance);
    orderIn(this.#byType, instance.type, CreationOrder).add(instance);
    // Status first: queuing may file the queue, whose sweep marks every
    // instance in the map as listed under its status, this one included.
    this.#fileStatus(instance);
    this.#queueUpdate(instance);
    return this;
  }

  override delete(id: string): boolean {
    const instance = super.get(id);
    const had = super.delete(id);
    if (!instance) return had;
    this.#tally.uncount(instance);
    // The last one gone: every entry is stale, and dropping them all is O(1), so
    // no removed instance (and its actor) waits in the lists for a sweep.
    if (super.size === 0) this.#reset();
    else {
      this.#stale++;
      this.#idStale++;
      this.#sweepIfStale();
    }
    return true;
  }

  override clear(): void {
    // The tally's mark is on each instance: cleared, in case one is filed again.
    for (const instance of super.values()) this.#tally.uncount(instance);
    super.clear();
    this.#reset();
  }

  /**
   * Takes out the entries of an instance removed earlier and now added again:
   * a sweep since may have dropped them while its marks stayed, or they may
   * still be there and would list it twice. Rare, so a scan.
   */
  #forget(instance: Instance): void {
    const other = (i: Instance) => i !== instance;
    this.#all.keep(other);
    for (const list of this.#byType.values()) list.keep(other);
    for (const list of this.#byStatus.values()) list.keep(other);
    instance.listed = 0;
  }

  #reset(): void {
    this.#all = new CreationOrder();
    this.#byType.clear();
    this.#byStatus.clear();
    this.#stale = 0;
    this.#ids = new IdOrder();
    this.#idStale = 0;
    this.#updated = new UpdateOrder();
    for (const instance of this.#unfiled) instance.latestUpdate = undefined;
    this.#unfiled = [];
    this.#updatedByType.clear();
    this.#updatedByStatus.clear();
    this.#tally.clear();
  }

  /**
   * Files `instance` under its current status and update time; the registry
   * calls it on every change.
   */
  touch(instance: Instance): void {
    // Status first, as in set().
    this.#fileStatus(instance);
    if (super.get(instance.id) === instance) this.#queueUpdate(instance);
  }

  /** Counts an instance the map holds under its status now, and queues it to be filed by update time. */
  #queueUpdate(instance: Instance): void {
    this.#tally.count(instance);
    if (instance.latestUpdate === UNFILED) return;
    instance.latestUpdate = UNFILED;
    const unfiled = this.#unfiled;
    unfiled.push(instance);
    // Filed in batches as the queue grows, so that neither the queue (removed
    // instances stay in it until filed) nor the pause of the read that files it
    // grows with the number of instances.
    if (unfiled.length >= FILE_AT) this.#fileUpdates();
  }

  /** Files every queued instance still in the map under the update orders, at its time now. */
  #fileUpdates(): void {
    const batch = this.#unfiled;
    if (batch.length === 0) return;
    this.#unfiled = [];
    // In update order, the entries are appended to each list as they are: they
    // are newer than the ones filed before (the clock moves forward), so no
    // read has to merge them in (restored instances, older, still are).
    batch.sort(updatedBefore);
    for (const instance of batch) {
      instance.latestUpdate = undefined;
      if (super.get(instance.id) !== instance) continue;
      const entry: UpdateEntry = { instance, at: instance.updatedAt };
      instance.latestUpdate = entry;
      this.#updated.add(entry);
      orderIn(this.#updatedByType, instance.type, UpdateOrder).add(entry);
      orderIn(this.#updatedByStatus, instance.status, UpdateOrder).add(entry);
    }
    this.#sweepIfStale();
  }

  /** Files `instance` under its current status in creation order, once per status. */
  #fileStatus(instance: Instance): void {
    const bit = STATUS_BIT[instance.status];
    if (instance.listed & bit) return;
    if (instance.listed !== 0) this.#stale++;
    instance.listed |= bit;
    orderIn(this.#byStatus, instance.status, CreationOrder).add(instance);
    this.#sweepIfStale();
  }

  /**
   * How many instances have each status: from counters, or, with `idPrefix`,
   * by reading the instances under that prefix only.
   */
  counts(filter: CountFilter = {}): StatusCounts {
    const types =
      filter.type === undefined
        ? undefined
        : new Set(typeof filter.type === 'string' ? [filter.type] : filter.type);
    if (!filter.idPrefix) return this.#tally.totals(types);
    const out: StatusCounts = { running: 0, done: 0, error: 0, stopped: 0, total: 0 };
    for (const instance of this.#withPrefix(filter.idPrefix)) {
      if (!types || types.has(instance.type)) out[instance.status]++;
    }
    out.total = out.running + out.done + out.error + out.stopped;
    return out;
  }

  /** One page of the instances `filter` selects, in creation order (or newest-updated first). */
  page(filter: ListFilter = {}): ListPage<Instance> {
    const f = normalizeFilter(filter);
    // A prefix is one range of the ID order: select it, then order and page just those.
    if (f.idPrefix !== undefined) return queryInstances(this.#withPrefix(f.idPrefix), filter);
    if (f.order === 'updated') return this.#byUpdate(f);
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
    for (const next of mergeRuns(heads, createdBefore, 1)) {
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

  /** Newest-updated first: a k-way merge, read downwards, of the smaller index's update orders. */
  #byUpdate(f: NormalizedFilter): ListPage<Instance> {
    this.#fileUpdates();
    const byStatus = f.statuses && [...f.statuses].map((s) => this.#updatedByStatus.get(s));
    const byType = f.types && [...f.types].map((t) => this.#updatedByType.get(t));
    const size = (lists: Array<UpdateOrder | undefined>) =>
      lists.reduce((n, l) => n + (l?.size ?? 0), 0);
    const lists =
      byStatus && (!byType || size(byStatus) <= size(byType))
        ? byStatus
        : (byType ?? [this.#updated]);
    return pageByUpdate(
      lists.filter((l): l is UpdateOrder => l !== undefined),
      f,
      (e) =>
        e.instance.latestUpdate === e &&
        super.get(e.instance.id) === e.instance &&
        matches(e.instance, f),
    );
  }

  #withPrefix(prefix: string): Instance[] {
    const out: Instance[] = [];
    for (const id of this.#ids.withPrefix(prefix)) {
      const instance = super.get(id);
      if (instance) out.push(instance);
    }
    return out;
  }

  #sweepIfStale(): void {
    if (this.#idStale >= 1024 && this.#idStale >= this.size) {
      this.#idStale = 0;
      this.#ids.keep((id) => super.has(id));
    }
    if (this.#updated.size >= 2048 && this.#updated.size >= 2 * this.size) {
      const live = (e: UpdateEntry) =>
        e.instance.latestUpdate === e && super.get(e.instance.id) === e.instance;
      for (const map of [this.#updatedByType, this.#updatedByStatus] as Map<unknown, UpdateOrder>[])
        for (const [key, list] of map) {
          list.keep(live);
          if (list.size === 0) map.delete(key);
        }
      this.#updated.keep(live);
    }
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

function matches(i: Instance, f: NormalizedFilter): boolean {
  return !(
    (f.statuses && !f.statuses.has(i.status)) ||
    (f.types && !f.types.has(i.type)) ||
    (f.createdFrom !== undefined && i.createdAt < f.createdFrom) ||
    (f.createdTo !== undefined && i.createdAt > f.createdTo) ||
    (f.updatedFrom !== undefined && i.updatedAt < f.updatedFrom) ||
    (f.updatedTo !== undefined && i.updatedAt > f.updatedTo)
  );
}

const STATUS_BIT: Record<InstanceStatusName, number> = {
  running: 1,
  done: 2,
  error: 4,
  stopped: 8,
};

/** How many changed instances the update orders may lag behind by. */
const FILE_AT = 2048;

const updatedBefore = (a: Instance, b: Instance) =>
  a.updatedAt - b.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The `latestUpdate` of an instance queued to be filed (its entries, if any, are stale). */
const UNFILED: object = Object.freeze({});

function orderIn<K, O>(map: Map<K, O>, key: K, make: new () => O): O {
  let order = map.get(key);
  if (!order) {
    order = new make();
    map.set(key, order);
  }
  return order;
}
