/**
 * At most `max` operations at once; the rest wait their turn, first come first
 * served. The FileStore runs every file operation through one, so that however
 * many instances are written at once (5,000 at close) it never holds more than
 * `max` descriptors and never meets EMFILE.
 *
 * @example
 * ```ts
 * const limit = new IoLimit(32);
 * const text = await limit.run(() => fsp.readFile(path, 'utf8'));
 * ```
 */
export class IoLimit {
  readonly #max: number;
  #running = 0;
  readonly #queue: Array<() => void> = [];

  constructor(max: number) {
    this.#max = max;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#max) await new Promise<void>((go) => this.#queue.push(go));
    else this.#running++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so no newcomer can jump the queue.
      const next = this.#queue.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
