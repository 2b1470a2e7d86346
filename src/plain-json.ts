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

// Objects met so far in this walk: a short array scanned by hand is cheaper
// than a Set for the few objects of a typical state (no hashing, no identity
// hash to create), and it is reused, so a walk allocates nothing. Large states
// switch to a Set.
const SMALL = 32;
const met: (object | undefined)[] = [];
let metCount = 0;
let metSet: Set<object> | undefined;

/** True when `value` was met before in this walk (shared or cyclic), and records it. */
function metBefore(value: object): boolean {
  if (metSet) {
    const size = metSet.size;
    return metSet.add(value).size === size;
  }
  for (let i = 0; i < metCount; i++) if (met[i] === value) return true;
  met[metCount++] = value;
  if (metCount > SMALL) metSet = new Set(met as object[]);
  return false;
}

/**
 * Whether the own keys of `value` are exactly the `count` enumerable string
 * keys for-in listed: a non-enumerable property or a symbol key (which JSON
 * would drop) makes them differ. These calls are most of the walk's cost (a
 * runtime call for the symbols), so the objects that XState and the registry
 * build fresh for every write with fixed string keys skip them (see {@link isShell}).
 */
function onlyEnumerableKeys(value: object, count: number): boolean {
  return (
    Object.getOwnPropertyNames(value).length === count &&
    Object.getOwnPropertySymbols(value).length === 0
  );
}

/**
 * Prototypes are read through the `__proto__` accessor, not
 * `Object.getPrototypeOf`: an inline-cached load that the optimizing compiler
 * folds to a constant once it knows the object's shape (a call per object
 * otherwise; a fourth of the walk). An own `__proto__` property would shadow
 * the accessor, and is refused where it can come from the user: for-in
 * refuses an enumerable one, the own-key count a non-enumerable one.
 */
type Proto = { __proto__?: unknown };

function isPlain(value: unknown, depth: number, strict: boolean): boolean {
  // strict: the user's data; otherwise built by XState or the registry (see isShell).
  // `typeof x === '...'` tests compile to type checks; a switch on typeof calls a builtin.
  if (typeof value === 'string' || typeof value === 'boolean') return true;
  // Finite (NaN and ±Infinity give NaN) and not -0 (1 / -0 is -Infinity).
  if (typeof value === 'number') return value === 0 ? 1 / value > 0 : value - value === 0;
  if (typeof value !== 'object') return false;
  if (value === null) return true;
  if (depth === 0 || (strict && metBefore(value))) return false;
  // biome-ignore lint/suspicious/noProto: an inline-cached load, see Proto
  const proto = (value as Proto).__proto__;
  if (proto === Array.prototype) {
    const array = value as unknown[];
    const n = array.length;
    for (let i = 0; i < n; i++) {
      const item = array[i];
      // A hole reads as undefined too.
      if (item === undefined || !isPlain(item, depth - 1, strict)) return false;
    }
    // Dense: n index keys plus `length`; one more means a named property (dropped by JSON).
    return !strict || onlyEnumerableKeys(array, n + 1);
  }
  if (proto !== Object.prototype) return false;
  let count = 0;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || key === '__proto__' || !isPlain(item, depth - 1, strict))
      return false;
    count++;
  }
  return !strict || onlyEnumerableKeys(value, count);
}

/**
 * One of the objects XState's `getPersistedSnapshot` and the registry's timer
 * list build fresh for every write, from object literals and spreads with
 * fixed string keys: the snapshot, its `children` and their entries,
 * `historyValue`, the timers and each timer. By construction they hold no
 * symbol key and no non-enumerable property, and nothing else refers to them,
 * so only their values are checked. An `undefined` field of theirs means
 * "absent" (`output` before the machine is done, a child's `systemId`).
 */
function isShell(value: unknown, depth: number): value is Record<string, unknown> {
  return (
    !!value &&
    typeof value === 'object' &&
    depth > 0 &&
    // biome-ignore lint/suspicious/noProto: an inline-cached load, see Proto
    (value as Proto).__proto__ === Object.prototype
  );
}

// XState's persisted snapshot: its own fields and `historyValue` are XState's
// making; `context`, `output`, `error` and `input` are the user's, checked strictly.
function isPlainSnapshot(snapshot: unknown, depth: number): boolean {
  if (!isShell(snapshot, depth)) return isPlain(snapshot, depth, true);
  for (const key in snapshot) {
    const item = snapshot[key];
    if (item === undefined) continue;
    if (key === 'children') {
      if (!isPlainChildren(item, depth - 1)) return false;
    } else if (key === '__proto__' || !isPlain(item, depth - 1, key !== 'historyValue'))
      return false;
  }
  return true;
}

function isPlainChildren(children: unknown, depth: number): boolean {
  if (!isShell(children, depth)) return false;
  for (const id in children) {
    const child = children[id];
    if (id === '__proto__' || !isShell(child, depth - 1)) return false;
    for (const field in child) {
      const v = child[field];
      if (v === undefined) continue;
      if (field === 'snapshot' ? !isPlainSnapshot(v, depth - 2) : !isPlain(v, depth - 2, true))
        return false;
    }
  }
  return true;
}

/** The registry's list of pending delayed events: only each `event` is the user's. */
function isPlainTimers(timers: unknown, depth: number): boolean {
  // biome-ignore lint/suspicious/noProto: an inline-cached load, see Proto
  if (!Array.isArray(timers) || (timers as Proto).__proto__ !== Array.prototype) return false;
  for (let i = 0; i < timers.length; i++) {
    const timer: unknown = timers[i];
    if (!isShell(timer, depth - 1)) return false;
    for (const key in timer) {
      const v = timer[key];
      if (v === undefined || !isPlain(v, depth - 2, key === 'event')) return false;
    }
  }
  return true;
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
  metCount = 0;
  const plain =
    isPlainSnapshot(state.snapshot, MAX_DEPTH) && isPlainTimers(state.timers, MAX_DEPTH);
  // Drop the references: the walk must not keep a state alive. (A getter that
  // throws skips this; the next walk overwrites what it left.)
  for (let i = 0; i < metCount; i++) met[i] = undefined;
  metCount = 0;
  metSet = undefined;
  return plain;
}
