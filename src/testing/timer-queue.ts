/** A timer of a simulated clock. */
export interface QueuedTimer {
  readonly id: number;
  readonly dueAt: number;
  /** Order of scheduling: timers due at the same time fire in it. */
  readonly seq: number;
  readonly fn: (...args: any[]) => void;
  /** Set, due at once, while the clock was firing timers (see `TestClock`'s `timerLimit`). */
  readonly chained: boolean;
  cancelled: boolean;
}

const before = (a: QueuedTimer, b: QueuedTimer) =>
  a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);

/**
 * The pending timers of a simulated clock, earliest (then oldest) first: a
 * binary heap, so that firing n timers costs O(n log n) rather than a scan of
 * every pending timer per fire. A cancelled timer stays in the heap, marked,
 * until it comes up or cancelled ones outnumber the live: then the heap is
 * rebuilt, so setting and clearing timers without advancing (an idle timer
 * reset on every event) cannot grow it without bound.
 *
 * @example
 * ```ts
 * const queue = new TimerQueue();
 * queue.add({ id: 1, dueAt: 50, seq: 0, fn, chained: false, cancelled: false });
 * queue.peek()?.dueAt; // 50
 * ```
 */
export class TimerQueue {
  #heap: QueuedTimer[] = [];
  readonly #live = new Map<number, QueuedTimer>();
  #cancelled = 0;

  get size(): number {
    return this.#live.size;
  }

  add(timer: QueuedTimer): void {
    this.#live.set(timer.id, timer);
    this.#heap.push(timer);
    this.#up(this.#heap.length - 1);
  }

  cancel(id: number): void {
    const timer = this.#live.get(id);
    if (!timer) return;
    this.#live.delete(id);
    timer.cancelled = true;
    if (++this.#cancelled > 64 && this.#cancelled > this.#live.size) this.#rebuild();
  }

  /** The next timer to fire, if any. */
  peek(): QueuedTimer | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (!top?.cancelled) return top;
      this.#removeTop();
      this.#cancelled--;
    }
  }

  /** Removes {@link peek}'s timer. */
  take(): QueuedTimer | undefined {
    const top = this.peek();
    if (!top) return undefined;
    this.#removeTop();
    this.#live.delete(top.id);
    return top;
  }

  #removeTop(): void {
    const last = this.#heap.pop() as QueuedTimer;
    if (this.#heap.length === 0) return;
    this.#heap[0] = last;
    this.#down(0);
  }

  #rebuild(): void {
    this.#heap = this.#heap.filter((t) => !t.cancelled);
    this.#cancelled = 0;
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const t = heap[i] as QueuedTimer;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as QueuedTimer;
      if (!before(t, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = t;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const t = heap[i] as QueuedTimer;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && before(heap[right] as QueuedTimer, heap[child] as QueuedTimer))
        child = right;
      const c = heap[child] as QueuedTimer;
      if (!before(c, t)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = t;
  }
}
