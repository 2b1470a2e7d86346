import type { Clock } from '../clock.js';
import { RegistryError } from '../errors.js';
import { TimerQueue } from './timer-queue.js';

const DEFAULT_TIMER_LIMIT = 100_000;
/**
 * The latest time a `Date` holds (8.64e15 ms, in the year 275760): records
 * stamped later are refused at load, so a test clock past it would lose
 * every instance at the next restart.
 */
const MAX_TIME = 8.64e15;

const invalid = (message: string, details: Record<string, unknown>) =>
  new RegistryError('INVALID_ARGUMENT', message, { details });

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
  readonly #timers = new TimerQueue();
  readonly #timerLimit: number;
  /** Inside {@link set}: a timer set now and due at once is chained to the one firing. */
  #firing = false;

  /**
   * @param start The time to start at (epoch ms).
   * @param options.timerLimit How many timers set, due at once, by the timers
   *   it fires, one `set`/`increment` fires in a row without time passing
   *   before it stops with `TIMER_LIMIT` (default 100,000): such a chain never
   *   lets time pass, so without a limit a machine that loops on a zero delay
   *   would hang the test.
   */
  constructor(start = 0, options: { timerLimit?: number } = {}) {
    if (!(start >= 0 && start <= MAX_TIME))
      throw invalid(
        'TestClock needs a start time (epoch ms) from 0 to 8.64e15, the range a Date and a record hold.',
        { start },
      );
    const limit = options.timerLimit ?? DEFAULT_TIMER_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw invalid('TestClock: timerLimit must be a positive integer.', { timerLimit: limit });
    this.#now = start;
    this.#timerLimit = limit;
  }

  now(): number {
    return this.#now;
  }

  /** A delay that is NaN or negative counts as zero (as XState's SimulatedClock has it); an infinite one never falls due. */
  setTimeout(fn: (...args: any[]) => void, timeout: number): number {
    const id = this.#nextId++;
    // biome-ignore lint/complexity/useMathMinMax: Math.max(0, NaN) is NaN; NaN must count as 0
    const dueAt = this.#now + (timeout > 0 ? timeout : 0);
    this.#timers.add({
      id,
      fn,
      dueAt,
      seq: this.#seq++,
      // Due now, not "no delay": at epoch times a delay below about 1e-4 ms adds nothing.
      chained: this.#firing && dueAt === this.#now,
      cancelled: false,
    });
    return id;
  }

  clearTimeout(id: number): void {
    this.#timers.cancel(id);
  }

  /** Moves time forward by `ms`, firing what falls due on the way. */
  increment(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw invalid('TestClock.increment needs a finite, non-negative number of milliseconds.', {
        ms,
      });
    this.set(this.#now + ms);
  }

  /**
   * Moves time forward to `time` (epoch ms), firing what falls due on the way.
   * Throws `TIMER_LIMIT` when the timers it fires keep setting timers due at
   * once, `timerLimit` of them in a row without time passing (see the
   * constructor): time stops where the last one fired, and the rest stay pending.
   */
  set(time: number): void {
    if (!Number.isFinite(time) || time < this.#now)
      throw invalid('TestClock.set needs a finite time, no earlier than now: it cannot go back.', {
        time,
        now: this.#now,
      });
    if (time > MAX_TIME)
      throw invalid(
        'TestClock cannot go past 8.64e15 ms (the latest time a Date and a record hold): instances stamped later could not be loaded again.',
        { time, now: this.#now },
      );
    const outer = this.#firing;
    this.#firing = true;
    let chained = 0;
    try {
      for (;;) {
        const next = this.#timers.peek();
        if (!next || next.dueAt > time) break;
        if (next.chained && ++chained > this.#timerLimit) {
          throw new RegistryError(
            'TIMER_LIMIT',
            `TestClock fired ${this.#timerLimit} timers in a row that the timers before them set due at once, without time passing: a machine loops on a zero delay (for example \`after: { 0: ... }\` back into its own state). Fix the loop, or raise \`timerLimit\` if the chain is meant to be that long.`,
            { details: { limit: this.#timerLimit, pending: this.#timers.size } },
          );
        }
        this.#timers.take();
        if (next.dueAt > this.#now) {
          // Time passes: a chain that lets it pass is no loop.
          chained = 0;
          this.#now = next.dueAt;
        }
        next.fn();
      }
      // A timer may have moved the clock further itself (increment inside a callback).
      if (time > this.#now) this.#now = time;
    } finally {
      this.#firing = outer;
    }
  }

  /** How many timers are pending (for tests that check nothing is left scheduled). */
  get pending(): number {
    return this.#timers.size;
  }
}
