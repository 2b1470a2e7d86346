/**
 * How the rich encoding looks at values: devalue's stringify operations,
 * made strict. By default devalue knows a value's kind by its
 * `Object.prototype.toString` tag and reads only enumerable keys, so a `Map`
 * subclass would come back as a plain `Map`, an object posing as a `Map`
 * (`[Symbol.toStringTag]: 'Map'`) would crash it, and a named property of an
 * array, a property of a `Map`, a non-enumerable property or the `lastIndex` of
 * a RegExp would be dropped. Here a value's kind is its prototype, vouched for
 * by a brand check, and anything devalue would not bring back exactly is
 * refused, with the reason kept for the error message.
 */
import type { StringifyOperations } from 'devalue';

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
/** The tag getter of typed arrays: their name for a real one, undefined otherwise (a brand check). */
const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag)
  ?.get as (this: unknown) => string | undefined;

const getter = (proto: object, key: string) =>
  Object.getOwnPropertyDescriptor(proto, key)?.get as (this: unknown) => unknown;
const mapSize = getter(Map.prototype, 'size');
const setSize = getter(Set.prototype, 'size');
const regExpSource = getter(RegExp.prototype, 'source');
const bufferLength = getter(ArrayBuffer.prototype, 'byteLength');
const viewLength = getter(DataView.prototype, 'byteLength');
const urlHref = getter(URL.prototype, 'href');

/** Per prototype: devalue's tag, and a brand check (it throws on an object without the internal slots). */
const KINDS = new Map<object, [tag: string, brand: (value: object) => unknown]>([
  [Date.prototype, ['Date', (v) => Date.prototype.getTime.call(v)]],
  [Map.prototype, ['Map', (v) => mapSize.call(v)]],
  [Set.prototype, ['Set', (v) => setSize.call(v)]],
  [RegExp.prototype, ['RegExp', (v) => regExpSource.call(v)]],
  [Number.prototype, ['Number', (v) => Number.prototype.valueOf.call(v)]],
  [String.prototype, ['String', (v) => String.prototype.valueOf.call(v)]],
  [Boolean.prototype, ['Boolean', (v) => Boolean.prototype.valueOf.call(v)]],
  [BigInt.prototype, ['BigInt', (v) => BigInt.prototype.valueOf.call(v)]],
  [ArrayBuffer.prototype, ['ArrayBuffer', (v) => bufferLength.call(v)]],
  [DataView.prototype, ['DataView', (v) => viewLength.call(v)]],
  [URL.prototype, ['URL', (v) => urlHref.call(v)]],
  [
    URLSearchParams.prototype,
    ['URLSearchParams', (v) => URLSearchParams.prototype.toString.call(v)],
  ],
]);
for (const Type of [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
]) {
  KINDS.set(Type.prototype, [
    Type.name,
    (v) => {
      if (typedArrayTag.call(v) !== Type.name) throw new TypeError('not a typed array');
    },
  ]);
}

/**
 * Why the last value was refused, kept for the error message (devalue only
 * knows "not a POJO"); the encoder clears `value` after each call.
 *
 * @example
 * ```ts
 * if (err.value === refusal.value) message = refusal.reason;
 * ```
 */
export const refusal: { value: unknown; reason: string } = { value: undefined, reason: '' };

/** A tag devalue does not know: it falls through to `shapeOf`, which refuses the value. */
const REFUSED = 'xstate-registry:refused';

/**
 * Marks `value` as refused with `reason`: the operations below then refuse it,
 * and the error names that reason (for a reducer that finds a value it cannot keep).
 *
 * @example
 * ```ts
 * refuse(error, 'an Error with a symbol key');
 * ```
 */
export function refuse(value: unknown, reason: string): string {
  refusal.value = value;
  refusal.reason = reason;
  return REFUSED;
}

const keyName = (key: string | symbol) =>
  typeof key === 'symbol' ? key.toString() : `'${key.replace(/'/g, "\\'")}'`;

function classOf(value: object): string {
  const proto = Object.getPrototypeOf(value) as object;
  const Type = Object.hasOwn(proto, 'constructor')
    ? (proto as { constructor?: { name?: unknown } }).constructor
    : undefined;
  return typeof Type?.name === 'string' && Type.name !== ''
    ? `an instance of ${Type.name}`
    : 'an object whose prototype is another object (Object.create), not Object.prototype';
}

/** True when `value` has exactly `names` own string keys and no symbol key (cheap calls first). */
const ownKeyCount = (value: object, names: number) =>
  Object.getOwnPropertyNames(value).length === names &&
  Object.getOwnPropertySymbols(value).length === 0;

/** An own key of `value` that devalue would not store for a value of this kind, if any. */
function extraKey(value: object, tag: string): string | symbol | undefined {
  if (tag === 'Array') {
    // Indices come first in own-key order, then `length`, then named keys and symbols.
    const keys = Reflect.ownKeys(value);
    return keys[keys.indexOf('length') + 1];
  }
  if (tag === 'String' || TYPED.has(tag)) {
    const keys = Reflect.ownKeys(value);
    const indices =
      tag === 'String' ? (value as unknown as string).length : (value as Uint8Array).length;
    return keys.find((k, i) => i >= indices && k !== 'length');
  }
  // Others have no own keys at all, but a RegExp has its lastIndex.
  const own = tag === 'RegExp' ? 1 : 0;
  if (ownKeyCount(value, own)) return undefined;
  return Reflect.ownKeys(value).find((k) => k !== 'lastIndex' || tag !== 'RegExp');
}
const TYPED = new Set([...KINDS.values()].map(([tag]) => tag).filter((t) => t.endsWith('Array')));

/**
 * The strict stringify operations for devalue: `tagOf` tags a value by its
 * prototype (after a brand check), `shapeOf` accepts only plain and
 * null-prototype objects whose own keys are all enumerable strings.
 *
 * @example
 * ```ts
 * stringify(state, reducers, { operations: exactOperations });
 * ```
 */
export const exactOperations: Partial<StringifyOperations> = {
  tagOf(value: object): string {
    // Refused already, by a reducer that knew why.
    if (refusal.value === value) return REFUSED;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === null || proto === Object.prototype) return 'Object';
    if (proto === Array.prototype) {
      if (!Array.isArray(value)) return refuse(value, 'an object posing as an Array');
      const extra = extraKey(value, 'Array');
      return extra === undefined
        ? 'Array'
        : refuse(value, `an array with the named property ${keyName(extra)}, which is not stored`);
    }
    const kind = KINDS.get(proto);
    if (!kind) return refuse(value, classOf(value));
    const [tag, brand] = kind;
    try {
      brand(value);
    } catch {
      return refuse(value, `an object posing as a ${tag}`);
    }
    const extra = extraKey(value, tag);
    if (extra !== undefined)
      return refuse(value, `a ${tag} with its own property ${keyName(extra)}, which is not stored`);
    if (tag === 'RegExp' && (value as RegExp).lastIndex !== 0)
      return refuse(value, 'a RegExp part-way through a match (lastIndex is not 0)');
    // It would come back fixed-size (resize() throwing, views no longer tracking its length).
    if (tag === 'ArrayBuffer' && (value as { resizable?: boolean }).resizable === true)
      return refuse(value, 'a resizable ArrayBuffer (its maxByteLength is not stored)');
    return tag;
  },
  shapeOf(value: object) {
    if (refusal.value === value) return { kind: 'not-plain' };
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto !== null && proto !== Object.prototype) {
      refuse(value, classOf(value));
      return { kind: 'not-plain' };
    }
    const keys = Object.keys(value);
    if (!ownKeyCount(value, keys.length)) {
      const enumerable = new Set<string | symbol>(keys);
      const extra = Reflect.ownKeys(value).find((k) => !enumerable.has(k)) as string | symbol;
      refuse(
        value,
        typeof extra === 'symbol'
          ? `an object with the symbol key ${keyName(extra)}`
          : `an object with the non-enumerable property ${keyName(extra)}, which is not stored`,
      );
      return { kind: 'not-plain' };
    }
    return { kind: proto === null ? 'null-proto' : 'plain', keys };
  },
};
