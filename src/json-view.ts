/**
 * The JSON view of a value, as statuses, the CLI and the history show it, in
 * bounded time and memory. Exact state may hold what JSON expands: a sparse
 * array of length 10^8 is a few bytes in a record and 10^8 `null`s in JSON, an
 * object reached twice down 30 levels is 2^30 copies, a typed array is a key
 * per byte. A view that would take more than {@link MAX_VIEW_VALUES} values
 * is shown as {@link TOO_LARGE} instead: `getStatus` on such a state took
 * minutes and gigabytes, with the event loop blocked throughout.
 */

/**
 * How many values (every object, array element and property, holes too) a
 * view may hold: a few hundred milliseconds of work at most.
 *
 * @example
 * ```ts
 * if (counted > MAX_VIEW_VALUES) return TOO_LARGE;
 * ```
 */
export const MAX_VIEW_VALUES = 1_000_000;

/**
 * What a view too large to show is shown as.
 *
 * @example
 * ```ts
 * jsonView(new Array(1e8)); // TOO_LARGE
 * ```
 */
export const TOO_LARGE = `[too large to show: over ${MAX_VIEW_VALUES.toLocaleString('en-US')} values as JSON]`;

class TooLarge extends Error {}

// What plain JSON cannot show: a BigInt as its digits, a Map or Set as its
// entries, a repeated object (a cycle, with `cycles`) as "[Circular]".
function replacer(cycles: boolean): (this: object, key: string, value: unknown) => unknown {
  let count = 0;
  // The objects being rendered, from the root down to the current holder.
  const path: Array<{ original: object; shown: object }> = [];
  return function (this: object, _key, value) {
    if (++count > MAX_VIEW_VALUES) throw new TooLarge();
    if (cycles) while (path.length && path[path.length - 1]?.shown !== this) path.pop();
    if (typeof value === 'bigint') return value.toString();
    if (!value || typeof value !== 'object') return value;
    let shown: object = value;
    if (value instanceof Map || value instanceof Set) shown = [...value];
    else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      // JSON lists a typed array's every key before the replacer sees the
      // first (seconds for 4 MB): shown as the list of its numbers, or not at all.
      const numbers = value as unknown as ArrayLike<unknown>;
      if (count + numbers.length > MAX_VIEW_VALUES) throw new TooLarge();
      shown = Array.from(numbers, (n) => (typeof n === 'bigint' ? n.toString() : n));
    }
    if (!cycles) return shown;
    if (path.some((p) => p.original === value)) return '[Circular]';
    path.push({ original: value, shown });
    return shown;
  };
}

/**
 * The JSON text of `value` as views show it (`undefined` when JSON has none),
 * or {@link TOO_LARGE}'s text. A cycle is shown as `'[Circular]'`, or with
 * `showCycles: false` throws JSON's TypeError; the check for one (a scan of
 * the path per value) runs only once JSON.stringify has thrown for it.
 *
 * @example
 * ```ts
 * jsonViewText({ n: 2n, m: new Map([[1, 'a']]) }); // '{"n":"2","m":[[1,"a"]]}'
 * ```
 */
export function jsonViewText(value: unknown, showCycles = true): string | undefined {
  try {
    return JSON.stringify(value, replacer(false));
  } catch (err) {
    if (err instanceof TooLarge) return JSON.stringify(TOO_LARGE);
    if (!showCycles) throw err;
    try {
      return JSON.stringify(value, replacer(true));
    } catch (again) {
      if (again instanceof TooLarge) return JSON.stringify(TOO_LARGE);
      throw again;
    }
  }
}
