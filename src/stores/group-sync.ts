/**
 * Group commit for one directory fsync. A caller arriving while a sync runs
 * waits for the next one (its rename may have missed the running one); all
 * callers arriving in the meantime share that next sync, so many writes at
 * once pay for two fsyncs, not one each.
 *
 * @example
 * ```ts
 * const dirSync = new GroupSync(() => fs.syncDir('data/instances'));
 * await Promise.all([dirSync.run(), dirSync.run()]); // one or two fsyncs
 * ```
 */
export class GroupSync {
  readonly #sync: () => Promise<void>;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(sync: () => Promise<void>) {
    this.#sync = sync;
  }

  run(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#sync().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued ??= this.#running
      .catch(() => {})
      .then(() => {
        this.#queued = undefined;
        return this.run();
      });
    return this.#queued;
  }
}
