/**
 * Serialises async work per key: work for one key runs one at a time, in call
 * order; work for different keys never waits on each other. The map holds only
 * keys with work queued, so it does not grow with the number of keys ever seen.
 *
 * @example
 * ```ts
 * const mutex = new KeyedMutex();
 * await mutex.run('order-42', async () => { ...check, then create... });
 * ```
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier `run` for `key` has settled; resolves to its result. */
  run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    const result = previous ? previous.then(fn, fn) : Promise.resolve().then(fn);
    // Once `fn` has settled the key is free, unless later work queued behind it.
    // One closure and one promise for both: the tail never rejects, so the next
    // waiter's `then(fn, fn)` runs exactly once.
    const release = (): void => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    const tail: Promise<void> = result.then(release, release);
    this.#tails.set(key, tail);
    return result;
  }

  /**
   * As `run`, but when nothing for `key` is queued, `fn` runs at once, in this
   * call, instead of on a later microtask: for a caller on a hot path that
   * has nothing to wait for (a write with no earlier one for its ID). Work
   * queued after it still waits for it.
   *
   * @example
   * ```ts
   * await mutex.runNow(id, () => store.write(id, text, meta));
   * ```
   */
  runNow<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.isLocked(key)) return this.run(key, fn);
    let result: Promise<T>;
    try {
      result = fn();
    } catch (err) {
      return Promise.reject(err);
    }
    const release = (): void => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    const tail: Promise<void> = result.then(release, release);
    this.#tails.set(key, tail);
    return result;
  }

  /** Whether any work for `key` is queued or running. */
  isLocked(key: string): boolean {
    // Checked on every send: nothing locked, the usual case, needs no hash lookup.
    return this.#tails.size !== 0 && this.#tails.has(key);
  }

  /** Resolves once all work queued so far, for every key, has settled. */
  async drain(): Promise<void> {
    while (this.#tails.size > 0) {
      await Promise.all([...this.#tails.values()]);
    }
  }
}
