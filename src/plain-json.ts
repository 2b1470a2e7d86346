/**
 * The fast proof that a state survives `JSON.stringify`/`JSON.parse` exactly,
 * so that it can be written as plain JSON. It runs on every write of every
 * instance, so it is one allocation-light walk: anything unusual answers
 * `false` and is left to the rich encoding, which checks it precisely.
 */

/**
 * How deep a state may nest. Deeper states are refused (`NOT_SERIALIZABLE`):
 * every walk over them (ours, devalue's, XState's) recurses, and a record that
 * could be written but not read back would be lost at the next start.
 *
 * @example
 * ```ts
 * if (depth > MAX_DEPTH) throw new Error('nested too deeply');
 * ```
 */
export const MAX_DEPTH = 1000;

// Objects met so far in this walk: a short array is cheaper than a Set for the
// few objects of a typical state (no hashing, no identity hash to create), and
// reused, so a walk allocates nothing. Large states switch to a Set.
const SMALL = 32;
const met: object[] = [];
let metSet: Set<object> | undefined;

/** True when `value` was met before in this walk (shared or cyclic), and records it. */
function metBefore(value: object): boolean {
  if (metSet) {
    const size = metSet.size;
    return metSet.add(value).size === size;
  }
  if (met.includes(value)) return true;
  met.push(value);
  if (met.length > SMALL) metSet = new Set(met);
  return false;
}

/**
 * Whether the own keys of `value` are exactly the `count` enumerable string
 * keys for-in listed: a symbol key or a non-enumerable property (which JSON
 * would drop) makes them differ. `getOwnPropertyNames` has a fast path for
 * ordinary objects, so symbols, which only a slower call lists, are asked last.
 */
function onlyEnumerableKeys(value: object, count: number): boolean {
  return (
    Object.getOwnPropertyNames(value).length === count &&
    Object.getOwnPropertySymbols(value).length === 0
  );
}

function isPlain(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      // Finite (NaN and ±Infinity give NaN) and not -0 (1 / -0 is -Infinity).
      return value === 0 ? 1 / value > 0 : value - value === 0;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth === 0 || metBefore(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto === Array.prototype) {
    const array = value as unknown[];
    const n = array.length;
    for (let i = 0; i < n; i++) {
      const item = array[i];
      // A hole reads as undefined too.
      if (item === undefined || !isPlain(item, depth - 1)) return false;
    }
    // Dense: n index keys plus `length`; one more means a named property (dropped by JSON).
    return onlyEnumerableKeys(array, n + 1);
  }
  if (proto !== Object.prototype) return false;
  let count = 0;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || key === '__proto__' || !isPlain(item, depth - 1)) return false;
    count++;
  }
  return onlyEnumerableKeys(value, count);
}

/** An object of XState's own making (snapshot, children), whose `undefined` fields mean "absent". */
function isPlainShell(value: object, depth: number, field: (key: string, v: unknown) => boolean) {
  if (depth <= 0 || Object.getPrototypeOf(value) !== Object.prototype || metBefore(value))
    return false;
  let count = 0;
  for (const key in value) {
    count++;
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined && (key === '__proto__' || !field(key, item))) return false;
  }
  return onlyEnumerableKeys(value, count);
}

function isPlainSnapshot(snapshot: unknown, depth: number): boolean {
  if (!snapshot || typeof snapshot !== 'object') return isPlain(snapshot, depth);
  return isPlainShell(snapshot, depth, (key, item) => {
    if (key !== 'children') return isPlain(item, depth - 1);
    if (!item || typeof item !== 'object') return false;
    return isPlainShell(item, depth - 1, (_id, child) => {
      if (!child || typeof child !== 'object') return false;
      return isPlainShell(child, depth - 2, (field, v) =>
        field === 'snapshot' ? isPlainSnapshot(v, depth - 3) : isPlain(v, depth - 3),
      );
    });
  });
}

/**
 * Whether a state (XState's persisted snapshot and the pending delayed events)
 * survives `JSON.stringify`/`JSON.parse` exactly: only strings, booleans, null,
 * finite numbers other than -0, dense arrays without named properties and
 * plain objects whose own keys are all enumerable strings, with no `undefined`
 * value (except XState's absent snapshot fields), no object reached twice, and
 * no deeper than {@link MAX_DEPTH}.
 *
 * @example
 * ```ts
 * isPlainState({ snapshot: { value: 'a', context: { n: 1 } }, timers: [] }); // true
 * isPlainState({ snapshot: { value: 'a', context: { at: new Date() } }, timers: [] }); // false
 * ```
 */
export function isPlainState(state: { snapshot: unknown; timers: unknown }): boolean {
  met.length = 0;
  metSet = undefined;
  try {
    return isPlainSnapshot(state.snapshot, MAX_DEPTH) && isPlain(state.timers, MAX_DEPTH);
  } finally {
    // Drop the references: the walk must not keep a state alive.
    met.length = 0;
    metSet = undefined;
  }
}
