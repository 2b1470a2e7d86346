import type { Clock } from '../clock.js';

/**
 * A clock tests move by hand: XState's `SimulatedClock` and {@link TestClock} both fit.
 *
 * @example
 * ```ts
 * const r = await createTestRegistry({ machines, clock: new SimulatedClock() as ManualClock });
 * ```
 */
export interface ManualClock extends Clock {
  increment(ms: number): void;
  set(time: number): void;
}

interface Timer {
  id: number;
  dueAt: number;
  fn: (...args: any[]) => void;
}

/**
 * A simulated clock, a drop-in for XState's `SimulatedClock`, that advances the
 * way tests expect: `increment(ms)` fires every timer that falls due, each at its
 * own due time and in due order, including timers scheduled by the ones it fires.
 * (XState's SimulatedClock jumps straight to the end, so a 1 s repeating timer
 * fires once per `increment(5000)`; this one fires it five times.)
 *
 * @example
 * ```ts
 * const clock = new TestClock(Date.UTC(2026, 0, 1));
 * clock.setTimeout(() => console.log('tick'), 1000);
 * clock.increment(1000); // tick
 * ```
 */
export class TestClock implements ManualClock {
  #now: number;
  #nextId = 1;
  #seq = 0;
  readonly #timers = new Map<number, Timer & { seq: number }>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: (...args: any[]) => void, timeout: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { id, fn, dueAt: this.#now + Math.max(0, timeout), seq: this.#seq++ });
    return id;
  }

  clearTimeout(id: number): void {
    this.#timers.delete(id);
  }

  /** Moves time forward by `ms`, firing what falls due on the way. */
  increment(ms: number): void {
    if (!(ms >= 0))
      throw new RangeError('TestClock.increment needs a non-negative number of milliseconds.');
    this.set(this.#now + ms);
  }

  /** Moves time forward to `time` (epoch ms), firing what falls due on the way. */
  set(time: number): void {
    if (time < this.#now) throw new RangeError('TestClock cannot go back in time.');
    for (;;) {
      let next: (Timer & { seq: number }) | undefined;
      for (const t of this.#timers.values()) {
        if (
          t.dueAt <= time &&
          (!next || t.dueAt < next.dueAt || (t.dueAt === next.dueAt && t.seq < next.seq))
        )
          next = t;
      }
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.dueAt);
      next.fn();
    }
    this.#now = time;
  }

  /** How many timers are pending (for tests that check nothing is left scheduled). */
  get pending(): number {
    return this.#timers.size;
  }
}
