/**
 * How the registry turns an actor's state into JSON text and back, exactly.
 *
 * Plain JSON cannot hold `undefined`, NaN, ±Infinity, -0, Date, Map, Set,
 * BigInt, RegExp, typed arrays, array holes or shared references: a restart
 * would silently change them. So state is written in one of two encodings:
 * - `json`: the state is plain JSON already (checked by one walk), written as
 *   is, readable, and as fast as `JSON.stringify`/`JSON.parse`;
 * - `devalue`: anything richer, written with devalue's flat JSON form, which
 *   keeps every value kind above and shared and cyclic references.
 * What neither can hold (functions, symbols, instances of unknown classes) is
 * refused with `NOT_SERIALIZABLE`, naming its path; nothing is dropped.
 */
import { DevalueError, stringify, unflatten } from 'devalue';
import { RegistryError } from './errors.js';

/** Which encoding a record's state is written in. */
export type StateEncoding = 'json' | 'devalue';

const ERROR_TYPES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

// Errors are what machines fail with (`snapshot.error`) and what actors output:
// kept with name, message, stack, cause and own fields (such as `code`).
// Subclasses come back as the built-in class of the same name, or as `Error`.
const reducers = {
  Error: (value: unknown) => {
    if (!(value instanceof Error)) return false;
    const own: Record<string, unknown> = {};
    for (const key of Object.keys(value))
      own[key] = (value as unknown as Record<string, unknown>)[key];
    const out: unknown[] = [value.name, value.message, value.stack, own];
    if ('cause' in value) out.push(value.cause);
    return out;
  },
};

const revivers = {
  Error: (parts: unknown) => {
    const [name, message, stack, own, ...cause] = parts as [
      string,
      string,
      string | undefined,
      Record<string, unknown>,
      ...unknown[],
    ];
    const Type = (Object.hasOwn(ERROR_TYPES, name) && ERROR_TYPES[name]) || Error;
    const error = cause.length ? new Type(message, { cause: cause[0] }) : new Type(message);
    if (error.name !== name)
      Object.defineProperty(error, 'name', { value: name, configurable: true, writable: true });
    if (stack === undefined) delete (error as { stack?: string }).stack;
    else error.stack = stack;
    for (const key of Object.keys(own ?? {})) {
      if (key !== '__proto__') (error as unknown as Record<string, unknown>)[key] = own[key];
    }
    return error;
  },
};

/**
 * Whether `value` survives `JSON.stringify`/`JSON.parse` exactly: only
 * strings, booleans, null, finite numbers other than -0, dense arrays and plain
 * objects with no `undefined` value, no symbol key and no object reachable twice.
 */
function isPlain(value: unknown, seen: Set<object>): boolean {
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
  // One hash lookup instead of has() then add(): reached twice means shared (or a cycle).
  const size = seen.size;
  if (seen.add(value).size === size) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === undefined || !isPlain(item, seen)) return false;
    }
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  if (Object.getOwnPropertySymbols(value).length) return false;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || key === '__proto__' || !isPlain(item, seen)) return false;
  }
  return true;
}

/**
 * XState's persisted snapshot (and its children's): an `undefined` field of the
 * snapshot itself means "absent" (`output` before the machine is done) and needs
 * no rich encoding; context, output, error and input are the user's, checked strictly.
 */
function isPlainSnapshot(snapshot: unknown, seen: Set<object>): boolean {
  if (
    !snapshot ||
    typeof snapshot !== 'object' ||
    Object.getPrototypeOf(snapshot) !== Object.prototype
  )
    return isPlain(snapshot, seen);
  if (seen.has(snapshot)) return false;
  seen.add(snapshot);
  for (const key in snapshot) {
    const item = (snapshot as Record<string, unknown>)[key];
    if (item === undefined) continue;
    if (key === 'children') {
      if (!item || typeof item !== 'object' || Object.getPrototypeOf(item) !== Object.prototype)
        return false;
      for (const id in item) {
        const child = (item as Record<string, { snapshot?: unknown } | undefined>)[id];
        if (
          !child ||
          typeof child !== 'object' ||
          Object.getPrototypeOf(child) !== Object.prototype
        )
          return false;
        if (seen.has(child)) return false;
        seen.add(child);
        for (const field in child) {
          const v = (child as Record<string, unknown>)[field];
          if (v === undefined) continue;
          if (field === 'snapshot' ? !isPlainSnapshot(v, seen) : !isPlain(v, seen)) return false;
        }
      }
    } else if (key === '__proto__' || !isPlain(item, seen)) return false;
  }
  return true;
}

/** What a record's state holds: XState's persisted snapshot and the pending delayed events. */
export interface StatePayload {
  snapshot: unknown;
  timers: unknown[];
}

/**
 * Picks the encoding for a state: `json` when it is plain JSON, `devalue` otherwise.
 *
 * @example
 * ```ts
 * chooseEncoding({ snapshot: { value: 'idle', context: { n: 1 } }, timers: [] }); // 'json'
 * chooseEncoding({ snapshot: { value: 'idle', context: { at: new Date() } }, timers: [] }); // 'devalue'
 * ```
 */
export function chooseEncoding(state: StatePayload): StateEncoding {
  const seen = new Set<object>();
  return isPlainSnapshot(state.snapshot, seen) && isPlain(state.timers, seen) ? 'json' : 'devalue';
}

// devalue's paths look like `.snapshot.context.customer.onSave`; users know the
// snapshot's fields (`context.customer.onSave`) and their delayed events.
function userPath(path: string): string {
  const p = path.replace(/^\.snapshot\./, '').replace(/^\./, '');
  return p === '' ? '(the state itself)' : p;
}

/**
 * Encodes a state in devalue's flat form (JSON text of an array); throws
 * `NOT_SERIALIZABLE` naming the path of the first value it cannot hold.
 *
 * @example
 * ```ts
 * const text = encodeRich({ snapshot: { context: { at: new Date(0) } }, timers: [] });
 * decodeRich(JSON.parse(text)); // { snapshot: { context: { at: Date(0) } }, timers: [] }
 * ```
 */
export function encodeRich(state: StatePayload, id = '?'): string {
  try {
    return stringify(state, reducers);
  } catch (cause) {
    if (!(cause instanceof DevalueError)) throw cause;
    const path = userPath(cause.path);
    throw new RegistryError(
      'NOT_SERIALIZABLE',
      `The state of instance '${id}' cannot be stored: ${cause.message.replace(/^Cannot stringify /, '')} at ${path}. Keep functions, symbols and class instances out of context and events (store plain data, Date, Map, Set, BigInt, RegExp, typed arrays, Errors); nothing was written.`,
      { cause, details: { id, path } },
    );
  }
}

/**
 * Decodes the parsed devalue form written by {@link encodeRich}; throws a plain
 * `Error` on malformed input (the caller reports it as a corrupt record).
 *
 * @example
 * ```ts
 * const state = decodeRich(record.state);
 * ```
 */
export function decodeRich(parsed: unknown): StatePayload {
  if (!Array.isArray(parsed)) throw new Error('the encoded state is not an array');
  const state = unflatten(parsed, revivers) as Partial<StatePayload> | null;
  if (!state || typeof state !== 'object' || !Array.isArray(state.timers))
    throw new Error('the encoded state has no snapshot and timers');
  return { snapshot: state.snapshot, timers: state.timers };
}
