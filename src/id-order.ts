/**
 * Instance IDs in code-unit order, for ID-prefix lookups: a prefix is one
 * contiguous range, found by binary search. New IDs wait in `pending` and are
 * merged in by the next read; IDs of removed instances stay until `keep`
 * drops them (readers check each ID against the live map).
 *
 * @example
 * ```ts
 * const ids = new IdOrder();
 * ids.add('order/7');
 * ids.withPrefix('order/'); // ['order/7']
 * ```
 */
export class IdOrder {
  #items: string[] = [];
  #pending: string[] = [];

  add(id: string): void {
    this.#pending.push(id);
  }

  /** The IDs that start with `prefix`, in order (some may be of removed instances). */
  withPrefix(prefix: string): string[] {
    const items = this.#sorted();
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((items[mid] as string) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: string[] = [];
    for (let i = lo; i < items.length && (items[i] as string).startsWith(prefix); i++)
      out.push(items[i] as string);
    return out;
  }

  keep(test: (id: string) => boolean): void {
    this.#items = this.#sorted().filter(test);
  }

  #sorted(): string[] {
    if (this.#pending.length === 0) return this.#items;
    const extra = this.#pending.sort();
    this.#pending = [];
    const merged: string[] = [];
    let i = 0;
    let j = 0;
    while (i < this.#items.length || j < extra.length) {
      const a = this.#items[i];
      const b = extra[j];
      const takeA = b === undefined || (a !== undefined && a <= b);
      const next = takeA ? a : b;
      if (takeA) i++;
      else j++;
      // An ID removed and added again is listed once.
      if (merged[merged.length - 1] !== next) merged.push(next as string);
    }
    this.#items = merged;
    return merged;
  }
}
