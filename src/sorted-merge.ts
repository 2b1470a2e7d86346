/**
 * Merging runs that are each sorted already: the list indexes (creation order,
 * update order) keep their entries in sorted arrays, take out-of-order inserts
 * in a pending batch, and page across several of them at once.
 */

/**
 * Sorts `pending` and merges it into `items` (sorted already), in one pass.
 * `takeItem(a, b)` says whether `a` of `items` goes before `b` of `pending`,
 * which also decides where equal entries land.
 *
 * @example
 * ```ts
 * const before = (a: number, b: number) => a < b;
 * mergePending([1, 4, 9], [7, 2], before, before); // [1, 2, 4, 7, 9]
 * ```
 */
export function mergePending<T>(
  items: T[],
  pending: T[],
  before: (a: T, b: T) => boolean,
  takeItem: (a: T, b: T) => boolean,
): T[] {
  const extra = pending.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  const merged: T[] = new Array(items.length + extra.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < items.length || j < extra.length) {
    const a = items[i];
    const b = extra[j];
    if (b === undefined || (a !== undefined && takeItem(a, b))) {
      merged[k++] = a as T;
      i++;
    } else {
      merged[k++] = b;
      j++;
    }
  }
  return merged;
}

/** A read position in one sorted run. */
export interface RunHead<T> {
  items: T[];
  pos: number;
}

/**
 * A k-way merge: yields the entries of every head in the order `first` gives,
 * each head read from its `pos` forwards (`step` 1) or backwards (`step` -1).
 * Lazy, so a page stops reading once it is full.
 *
 * @example
 * ```ts
 * const heads = [{ items: [1, 5], pos: 0 }, { items: [2, 3], pos: 0 }];
 * [...mergeRuns(heads, (a, b) => a < b, 1)]; // [1, 2, 3, 5]
 * ```
 */
export function* mergeRuns<T>(
  heads: RunHead<T>[],
  first: (a: T, b: T) => boolean,
  step: 1 | -1,
): Generator<T, void, undefined> {
  for (;;) {
    let best: RunHead<T> | undefined;
    for (const head of heads) {
      const candidate = head.items[head.pos];
      const current = best?.items[best.pos];
      if (candidate !== undefined && (current === undefined || first(candidate, current)))
        best = head;
    }
    const next = best?.items[best.pos];
    if (!best || next === undefined) return;
    best.pos += step;
    yield next;
  }
}
