/**
 * The first `k` items in an order, picked from a stream of any length while
 * holding at most `2k` of them: the CLI's `ls` over millions of records.
 * Also counts what it saw, so the caller can say how many more there were.
 *
 * @example
 * ```ts
 * const top = new TopK<number>(3, (a, b) => a - b);
 * for (const n of [5, 1, 4, 2, 3]) top.offer(n);
 * top.result(); // [1, 2, 3]; top.seen === 5
 * ```
 */
export class TopK<T> {
  readonly #k: number;
  readonly #compare: (a: T, b: T) => number;
  #kept: T[] = [];
  #seen = 0;

  constructor(k: number, compare: (a: T, b: T) => number) {
    this.#k = k;
    this.#compare = compare;
  }

  /** How many items were offered. */
  get seen(): number {
    return this.#seen;
  }

  /** Considers one item. Sorting every `k` offers keeps this O(log k) amortised. */
  offer(item: T): void {
    this.#seen++;
    // Anything after the k-th item of the last trim can never make it in.
    if (this.#bound !== undefined && this.#compare(item, this.#bound.item) >= 0) return;
    this.#kept.push(item);
    if (this.#kept.length >= 2 * this.#k) this.#trim();
  }

  /** The first `k` items, in order. */
  result(): T[] {
    this.#trim();
    return this.#kept;
  }

  /** The k-th item after the last trim, once there were k (boxed: `T` may be falsy). */
  #bound: { item: T } | undefined;

  #trim(): void {
    this.#kept.sort(this.#compare);
    if (this.#kept.length > this.#k) this.#kept.length = this.#k;
    const last = this.#kept[this.#k - 1];
    if (this.#kept.length === this.#k) this.#bound = { item: last as T };
  }
}
