/**
 * The registry's notion of time: XState's `Clock` (setTimeout/clearTimeout) plus
 * `now()`, so due times and timestamps come from the same source. XState's
 * `SimulatedClock` satisfies it, which is how tests drive time.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ machines, clock: new SimulatedClock() });
 * ```
 */
export interface Clock {
  now(): number;
  setTimeout(fn: (...args: any[]) => void, timeout: number): any;
  clearTimeout(id: any): void;
}

// Node's setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days)
// and warns; long-lived actors routinely wait longer, so long delays are chained.
const MAX_TIMEOUT = 2_147_483_647;

interface LongTimer {
  handle: ReturnType<typeof setTimeout>;
}

/**
 * The default clock: wall time and Node's timers, with delays longer than
 * Node's 24.8-day limit handled correctly.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ machines, clock: systemClock });
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, timeout) {
    const timer: LongTimer = { handle: undefined as never };
    const dueAt = Date.now() + timeout;
    const arm = () => {
      const left = dueAt - Date.now();
      timer.handle = left > MAX_TIMEOUT ? setTimeout(arm, MAX_TIMEOUT) : setTimeout(fn, left);
    };
    if (timeout > MAX_TIMEOUT) arm();
    else timer.handle = setTimeout(fn, timeout);
    return timer;
  },
  clearTimeout(timer: LongTimer | undefined) {
    if (timer) clearTimeout(timer.handle);
  },
};
