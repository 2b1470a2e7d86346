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
import { checkDevalueForm } from './devalue-form.js';
import { RegistryError } from './errors.js';
import { exactOperations, refusal, refuse } from './exact-operations.js';
import { isPlainState, MAX_DEPTH } from './plain-json.js';

/** Which encoding a record's state is written in. */
export type StateEncoding = 'json' | 'devalue';

const ERROR_TYPES: Record<string, ErrorConstructor> = {
  Error,
  AggregateError: AggregateError as unknown as ErrorConstructor,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

// What an Error may hold of its own beyond its enumerable fields: what the
// constructors make (an AggregateError's `errors` too) and a `name` (Node's
// AssertionError has one), all stored. Anything else would be lost: refused,
// but for non-enumerable symbols (see errorProblem).
const ERROR_OWN = new Set<string | symbol>(['name', 'message', 'stack', 'cause']);

/** Why `error` cannot be kept exactly, or undefined. */
function errorProblem(error: Error, aggregate: boolean): string | undefined {
  if (typeof error.message !== 'string') return 'an Error whose message is not a string';
  // A record's errors are read back by name: one without a string name was
  // written, then refused at the next start.
  if (typeof error.name !== 'string') return 'an Error whose name is not a string';
  for (const key of Reflect.ownKeys(error)) {
    if (typeof key === 'string' && (ERROR_OWN.has(key) || (aggregate && key === 'errors')))
      continue;
    const enumerable = Object.getOwnPropertyDescriptor(error, key)?.enumerable;
    if (typeof key === 'symbol') {
      // A hidden symbol is the runtime's brand (Node's errors carry
      // Symbol(kIsNodeError)), not data: not stored, not refused.
      if (enumerable) return `an Error with the symbol key ${key.toString()}`;
    } else if (!enumerable) {
      return `an Error with the non-enumerable property '${key}', which is not stored`;
    }
  }
  if (aggregate && !Array.isArray((error as AggregateError).errors))
    return 'an AggregateError whose errors are not an array';
  return undefined;
}

// Errors are what machines fail with (`snapshot.error`) and what actors output:
// kept with name, message, stack, cause and own fields (such as `code`), an
// AggregateError with its errors. Subclasses come back as the built-in class of
// the same name, or as `Error`.
const reducers = {
  Error: (value: unknown) => {
    if (!(value instanceof Error)) return false;
    const aggregate = value instanceof AggregateError;
    const problem = errorProblem(value, aggregate);
    if (problem) {
      refuse(value, problem);
      return false;
    }
    const own: Record<string, unknown> = {};
    for (const key of Object.keys(value))
      own[key] = (value as unknown as Record<string, unknown>)[key];
    const out: unknown[] = [value.name, value.message, value.stack, own];
    const hasCause = 'cause' in value;
    // An AggregateError's parts are seven: [..., cause, errors, hasCause]. Every
    // other Error's stay as records have always held them: four, and the cause.
    // The array itself, not a copy: a copy turned holes into undefined (and
    // shared references into copies).
    if (aggregate)
      out.push(hasCause ? value.cause : undefined, (value as AggregateError).errors, hasCause);
    else if (hasCause) out.push(value.cause);
    return out;
  },
};

const revivers = {
  Error: (parts: unknown) => {
    const [name, message, stack, own] = parts as [
      string,
      string,
      string | undefined,
      Record<string, unknown>,
    ];
    const list = parts as unknown[];
    const aggregated = list.length === 7;
    const hasCause = aggregated ? list[6] === true : list.length === 5;
    const options = hasCause ? { cause: list[4] } : undefined;
    // The seven-part form is an AggregateError's whatever its name (it may be renamed).
    const Type = aggregated
      ? (AggregateError as unknown as ErrorConstructor)
      : (Object.hasOwn(ERROR_TYPES, name) && ERROR_TYPES[name]) || Error;
    const error: Error =
      Type === (AggregateError as unknown)
        ? new AggregateError([], message, options)
        : new Type(message, options);
    // Set as stored, not passed to the constructor, which copies it element by
    // element: a sparse array of length 2e8 in a 349-byte record took the
    // process down (heap out of memory) at every start.
    if (Type === (AggregateError as unknown) && aggregated && Array.isArray(list[5]))
      Object.defineProperty(error, 'errors', {
        value: list[5],
        configurable: true,
        writable: true,
        enumerable: false,
      });
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
  return isPlainState(state) ? 'json' : 'devalue';
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
    return stringify(state, reducers, { operations: exactOperations });
  } catch (cause) {
    if (cause instanceof RangeError) {
      // The stack overflowed: devalue recurses once per level of nesting.
      throw notSerializable(
        id,
        deepPath(state),
        `a value nested deeper than ${MAX_DEPTH} levels (more than any state needs)`,
        cause,
      );
    }
    if (!(cause instanceof DevalueError)) throw cause;
    const reason =
      refusal.value !== undefined && refusal.value === cause.value
        ? refusal.reason
        : cause.message.replace(/^Cannot stringify /, '');
    throw notSerializable(id, userPath(cause.path), reason, cause);
  } finally {
    // Keep no reference to the user's state.
    refusal.value = undefined;
  }
}

function notSerializable(id: string, path: string, reason: string, cause: unknown): RegistryError {
  return new RegistryError(
    'NOT_SERIALIZABLE',
    `The state of instance '${id}' cannot be stored: ${reason} at ${path}. Keep functions, symbols and class instances out of context and events (store plain data, Date, Map, Set, BigInt, RegExp, typed arrays, Errors); nothing was written.`,
    { cause, details: { id, path } },
  );
}

/** The path of the first value nested deeper than {@link MAX_DEPTH}, for the error message. */
function deepPath(state: StatePayload): string {
  const path: string[] = [];
  const seen = new Set<object>();
  const walk = (value: unknown, depth: number): boolean => {
    if (!value || typeof value !== 'object' || seen.has(value)) return false;
    if (depth === MAX_DEPTH) return true;
    seen.add(value);
    const entries: Iterable<[unknown, unknown]> =
      value instanceof Map
        ? [...value].map(([k, v]) => [`.get(${String(k)})`, v])
        : value instanceof Set
          ? [...value].map((v, i) => [`[...${i}]`, v])
          : value instanceof Error
            ? // Not enumerable, and what nests Errors: a chain of causes.
              ([
                ...Object.entries(value),
                ...('cause' in value ? [['cause', value.cause]] : []),
                ...(value instanceof AggregateError ? [['errors', value.errors]] : []),
              ] as Array<[unknown, unknown]>)
            : Object.entries(value);
    for (const [key, item] of entries) {
      path.push(
        Array.isArray(value)
          ? `[${String(key)}]`
          : typeof key === 'string' && key.startsWith('.')
            ? key
            : `.${String(key)}`,
      );
      if (walk(item, depth + 1)) return true;
      path.pop();
    }
    return false;
  };
  walk(state, 0);
  // The first levels say where; a thousand more would drown the message.
  return userPath(path.slice(0, 4).join(''));
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
  checkDevalueForm(parsed);
  const state = unflatten(parsed, revivers) as Partial<StatePayload> | null;
  if (!state || typeof state !== 'object' || !Array.isArray(state.timers))
    throw new Error('the encoded state has no snapshot and timers');
  return { snapshot: state.snapshot, timers: state.timers };
}
