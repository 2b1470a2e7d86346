import { RegistryError } from './errors.js';
import { asRegistryError, flushFailure } from './flush-failure.js';
import type { Instance } from './instance.js';
import { encodeInstance } from './instance-encoding.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { RecordMeta, Store } from './stores/store.js';

export interface PersisterOptions {
  store: Store;
  /** Largest record accepted, in bytes of UTF-8 JSON. */
  maxRecordBytes: number;
  /** First retry delay after a failed write; doubles up to 30 s. */
  retryDelayMs?: number;
}

interface Waiter {
  version: number;
  /** The first attempt that started after the waiter arrived: only its failure, or a later one's, rejects it. */
  since: number;
  resolve: () => void;
  reject: (err: RegistryError, instance: Instance) => void;
}

/**
 * One `flush()`: a count of the instances it waits for and the failures so
 * far, settled once the count reaches zero. Its waiters share its two
 * callbacks, so a flush of 20,000 instances makes no promise per instance.
 */
class FlushGroup {
  #left = 1;
  readonly failed: Array<{ instance: Instance; error: RegistryError }> = [];
  readonly done: Promise<void>;
  #end!: () => void;

  constructor() {
    this.done = new Promise<void>((resolve) => {
      this.#end = resolve;
    });
  }

  /** One more instance to wait for. */
  add(): void {
    this.#left++;
  }

  readonly resolve = (): void => {
    if (--this.#left === 0) this.#end();
  };

  readonly reject = (error: RegistryError, instance: Instance): void => {
    this.failed.push({ instance, error: asRegistryError(error) });
    this.resolve();
  };
}

/**
 * Write-behind persistence with coalescing. A change only marks its instance
 * dirty; the write happens on a later turn of the event loop and serialises the
 * state as it is then, so a burst of 10,000 transitions costs a handful of writes
 * and the latest state always wins. At most one write per instance is in flight;
 * store calls for one ID are ordered (a purge never races a late write).
 */
export class Persister {
  readonly #store: Store;
  readonly #maxBytes: number;
  // Its own events, which the modules above subscribe to: it never calls up into them.
  readonly #failedListeners = new Set<(error: RegistryError) => void>();
  readonly #settledListeners = new Set<() => void>();
  /** Set by a failed write, cleared once every change is durable again. */
  #failing = false;
  readonly #retryBase: number;
  readonly #ids = new KeyedMutex();
  /** Instances whose latest change is not yet durable. */
  readonly #pending = new Set<Instance>();
  readonly #queued = new Set<Instance>();
  readonly #writing = new Set<Instance>();
  readonly #waiters = new Map<Instance, Waiter[]>();
  readonly #backoff = new Map<Instance, number>();
  #attemptSeq = 0;
  readonly #retries = new Map<Instance, { timer: ReturnType<typeof setTimeout>; delay: number }>();
  /** The queued drain: cleared by dispose(), or it would hold every instance until the event loop turns. */
  #scheduled: ReturnType<typeof setImmediate> | undefined = undefined;
  /**
   * The instance last marked dirty while it is surely still in both `#pending`
   * and `#queued` (forgotten wherever either drops it): its next change, in a
   * burst of sends, skips the two set insertions.
   */
  #lastMarked: Instance | undefined = undefined;
  /** Set by telemetry: wraps each store write (to time and trace it). */
  observeWrite: ((instance: Instance, write: () => Promise<void>) => Promise<void>) | undefined;

  constructor(options: PersisterOptions) {
    this.#store = options.store;
    this.#maxBytes = options.maxRecordBytes;
    this.#retryBase = options.retryDelayMs ?? 100;
  }

  /**
   * Tells `listener` of every failed write (`PERSIST_FAILED`, `FENCED`, ...).
   * Returns an unsubscribe.
   *
   * @example
   * ```ts
   * const off = persister.onFailed((err) => emitter.emit('error', err));
   * ```
   */
  onFailed(listener: (error: RegistryError) => void): () => void {
    this.#failedListeners.add(listener);
    return () => this.#failedListeners.delete(listener);
  }

  /**
   * Tells `listener` whenever an instance's changes became durable (or were
   * abandoned), so that callers held back by the backlog can check it again.
   * Returns an unsubscribe.
   *
   * @example
   * ```ts
   * persister.onSettled(() => { if (persister.backlog < max) releaseWaiters(); });
   * ```
   */
  onSettled(listener: () => void): () => void {
    this.#settledListeners.add(listener);
    return () => this.#settledListeners.delete(listener);
  }

  /** Whether the store is failing: from a failed write until every change is durable again (for `health()`). */
  get failing(): boolean {
    return this.#failing;
  }

  /** Records that `instance` changed; it will be written soon. */
  markDirty(instance: Instance): void {
    instance.version++;
    if (instance === this.#lastMarked) return;
    this.#lastMarked = instance;
    this.#pending.add(instance);
    this.#queued.add(instance);
    if (this.#scheduled === undefined) this.#scheduled = setImmediate(this.#drain);
  }

  /** How many instances are queued for a write or have one under way (gauges for stats()). */
  get queued(): number {
    let n = this.#pending.size;
    for (const instance of this.#queued) if (!this.#pending.has(instance)) n++;
    return n;
  }

  /** How many instances have changes not yet durable. */
  get backlog(): number {
    return this.#pending.size;
  }

  readonly #drain = (): void => {
    this.#scheduled = undefined;
    const batch = [...this.#queued];
    this.#queued.clear();
    this.#lastMarked = undefined;
    for (const instance of batch) void this.#write(instance);
  };

  async #write(instance: Instance): Promise<void> {
    if (this.#writing.has(instance)) return;
    this.#writing.add(instance);
    this.#clearRetry(instance);
    let attempt = 0;
    let retryNow = false;
    try {
      while (instance.durable < instance.version && !this.#isRetired(instance)) {
        const version = instance.version;
        attempt = ++this.#attemptSeq;
        const { text, meta } = this.#serialize(instance);
        // At once when no earlier store call for the ID is under way: a write of
        // a new instance costs no extra turn.
        await this.#ids.runNow(instance.id, () => {
          if (this.#isRetired(instance)) return Promise.resolve();
          const write = () => this.#store.write(instance.id, text, meta);
          return this.observeWrite ? this.observeWrite(instance, write) : write();
        });
        if (instance.durable !== RETIRED) instance.durable = version;
        this.#settle(instance, version);
      }
      this.#backoff.delete(instance);
    } catch (cause) {
      const error =
        cause instanceof RegistryError && cause.code !== 'STORE_CLOSED'
          ? cause
          : new RegistryError(
              'PERSIST_FAILED',
              `Writing instance '${instance.id}' failed; the actor keeps running and the write is retried. Check the store (disk space, permissions).`,
              { cause, details: { id: instance.id } },
            );
      // Waiters that arrived during this attempt get an attempt of their own.
      retryNow = this.#fail(instance, error, attempt);
      if (error.code === 'PERSIST_FAILED') this.#failing = true;
      for (const listener of this.#failedListeners) listener(error);
      if (error.code === 'PERSIST_FAILED' && !retryNow) this.#scheduleRetry(instance);
    } finally {
      this.#writing.delete(instance);
      if (retryNow) void this.#write(instance);
      if (instance.durable >= instance.version || this.#isRetired(instance)) {
        this.#pending.delete(instance);
        if (this.#lastMarked === instance) this.#lastMarked = undefined;
        if (this.backlog === 0) this.#failing = false;
        for (const listener of this.#settledListeners) listener();
      }
    }
  }

  /**
   * The record `instance` would be written as now, and its metadata; throws
   * `NOT_SERIALIZABLE` or `SNAPSHOT_TOO_LARGE` as a write would. With
   * `stopping`, the record a stop would write now (see `Instance.toRecord`).
   */
  encode(
    instance: Instance,
    stopping?: Parameters<Instance['toRecord']>[0],
  ): { text: string; meta: RecordMeta } {
    return encodeInstance(instance, this.#maxBytes, stopping);
  }

  #serialize(instance: Instance): { text: string; meta: RecordMeta } {
    try {
      const written = encodeInstance(instance, this.#maxBytes);
      instance.persistError = undefined;
      return written;
    } catch (err) {
      if (err instanceof RegistryError) instance.persistError = err;
      throw err;
    }
  }

  #settle(instance: Instance, version: number): void {
    const list = this.#waiters.get(instance);
    if (!list) return;
    const rest = list.filter((w) => {
      if (w.version > version) return true;
      w.resolve();
      return false;
    });
    if (rest.length) this.#waiters.set(instance, rest);
    else this.#waiters.delete(instance);
  }

  /** Rejects the waiters this attempt was for; returns whether later waiters remain. */
  #fail(instance: Instance, error: RegistryError, attempt: number): boolean {
    const list = this.#waiters.get(instance) ?? [];
    const later = list.filter((w) => w.since > attempt);
    for (const w of list) if (w.since <= attempt) w.reject(error, instance);
    if (later.length) this.#waiters.set(instance, later);
    else this.#waiters.delete(instance);
    return later.length > 0;
  }

  #scheduleRetry(instance: Instance): void {
    const delay = Math.min((this.#backoff.get(instance) ?? this.#retryBase / 2) * 2, 30_000);
    this.#backoff.set(instance, delay);
    const timer = setTimeout(() => {
      this.#retries.delete(instance);
      void this.#write(instance);
    }, delay);
    timer.unref?.();
    this.#retries.set(instance, { timer, delay });
  }

  #clearRetry(instance: Instance): void {
    const retry = this.#retries.get(instance);
    if (retry) clearTimeout(retry.timer);
    this.#retries.delete(instance);
  }

  /** Resolves once the current state of `instance` is durable; rejects if writing it fails. */
  durable(instance: Instance): Promise<void> {
    if (instance.durable >= instance.version || this.#isRetired(instance)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#await(instance, resolve, reject));
  }

  /** Calls `resolve` once the current state of `instance` is durable, `reject` if writing it fails; starts the write now. */
  #await(instance: Instance, resolve: Waiter['resolve'], reject: Waiter['reject']): void {
    const waiter = { version: instance.version, since: this.#attemptSeq + 1, resolve, reject };
    const list = this.#waiters.get(instance);
    if (list) list.push(waiter);
    else this.#waiters.set(instance, [waiter]);
    this.#queued.delete(instance);
    if (this.#lastMarked === instance) this.#lastMarked = undefined;
    void this.#write(instance);
  }

  /**
   * Resolves once every change made before the call is durable. Otherwise
   * rejects, after every write has been tried, naming in `details.ids` exactly
   * the instances whose changes are not durable (the code is the failure's
   * when they all share one, else `PERSIST_FAILED`).
   */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const group = new FlushGroup();
    // A copy: a write that completes synchronously leaves #pending meanwhile.
    const instances = [...this.#pending];
    for (const instance of instances) {
      if (instance.durable >= instance.version || this.#isRetired(instance)) continue;
      group.add();
      this.#await(instance, group.resolve, group.reject);
    }
    group.resolve(); // the count starts at one, so that it cannot reach zero while filling
    await group.done;
    if (group.failed.length === 0) return;
    // Named in the order of the backlog, not of the failures, so that reports repeat.
    const position = new Map(instances.map((instance, i) => [instance, i]));
    const failed = group.failed
      .sort((a, b) => (position.get(a.instance) ?? 0) - (position.get(b.instance) ?? 0))
      .map(({ instance, error }) => ({ id: instance.id, error }));
    throw flushFailure(failed, failed[0] as (typeof failed)[number]);
  }

  /**
   * Drops the pending writes of an instance: replaced by a new one under the
   * same ID (whose writes come after) or purged, and waiters resolve; or `lost`
   * to another owner, and waiters reject with that error.
   */
  retire(instance: Instance, lost?: RegistryError): void {
    instance.durable = RETIRED;
    this.#queued.delete(instance);
    if (this.#lastMarked === instance) this.#lastMarked = undefined;
    this.#clearRetry(instance);
    this.#backoff.delete(instance);
    this.#pending.delete(instance);
    if (lost) {
      // Its unwritten changes will never be written: whoever waits for them must hear so.
      const list = this.#waiters.get(instance) ?? [];
      this.#waiters.delete(instance);
      for (const w of list) w.reject(lost, instance);
    } else {
      this.#settle(instance, Number.POSITIVE_INFINITY);
    }
  }

  #isRetired(instance: Instance): boolean {
    return instance.gone || instance.durable === RETIRED;
  }

  /**
   * Forgets `instance` in the store, after any write of it already under way,
   * and calls `removed` (to drop it from memory) in the same step, before any
   * later write of it can start: a purge either happens entirely or not at all.
   * If the store fails, nothing changes (its writes go on) and this rejects
   * with `PERSIST_FAILED`; a `FENCED` store (another owner now) still calls
   * `removed`, since the instance is no longer this process's either way.
   */
  async remove(
    instance: Instance,
    removed: (lost?: RegistryError) => void = () => {},
  ): Promise<void> {
    await this.#ids.run(instance.id, async () => {
      try {
        await this.#store.remove(instance.id);
      } catch (cause) {
        if (cause instanceof RegistryError && cause.code === 'FENCED') {
          // Another process's now: whoever waits for its writes hears so.
          this.#removed(instance, removed, cause);
          throw cause;
        }
        // The store may have deleted it all the same (a directory sync that
        // failed after the unlink): the record is written again as it is, so
        // that the store holds what the registry still says. (A passive
        // instance has no state in memory to write: its record stays as the
        // store left it.)
        if (instance.actor || instance.frozen) this.markDirty(instance);
        throw cause instanceof RegistryError && cause.code !== 'STORE_CLOSED'
          ? cause
          : new RegistryError(
              'PERSIST_FAILED',
              `Deleting the record of instance '${instance.id}' failed, so it was not purged: it stays as it was. Check the store (disk space, permissions), then call purge again.`,
              { cause, details: { id: instance.id } },
            );
      }
      this.#removed(instance, removed, undefined);
    });
  }

  #removed(
    instance: Instance,
    removed: (lost?: RegistryError) => void,
    lost: RegistryError | undefined,
  ): void {
    try {
      removed(lost);
    } finally {
      this.retire(instance, lost);
    }
  }

  /** Stops retrying; pending writes are abandoned (used only after a final flush). */
  dispose(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    for (const instance of [...this.#retries.keys()]) this.#clearRetry(instance);
  }
}

/**
 * `durable` of an instance whose writes were retired (the table marks it gone
 * too; this holds for direct use): nothing more of it is ever written. A mark on
 * the instance, not a WeakSet: a WeakSet's table keeps the size of the largest
 * burst of purges for ever, even once the instances are collected.
 */
const RETIRED = -1;
