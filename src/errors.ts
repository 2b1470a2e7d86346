/**
 * The facts a batch write adds to any write error: which instances are not
 * durable, and the code each one failed with.
 *
 * @example
 * ```ts
 * if (isRegistryError(err, 'PERSIST_FAILED')) console.log(err.details.ids, err.details.failures);
 * ```
 */
export interface WriteFailureDetails {
  ids?: string[];
  failures?: Record<string, string>;
  /** Mail from another process whose effect this refused write held (cluster stores). */
  mail?: { sender: string; seq: string; idempotencyKey?: string };
}

/**
 * Every stable error code of the registry and its stores, mapped to the type of
 * its `details`. Codes are part of the public contract: match on `error.code`,
 * never on the message. The HTTP layer adds its own (`HttpErrorCode`).
 *
 * @example
 * ```ts
 * const d: RegistryErrorDetails['OWNED_ELSEWHERE'] = { id: 'j1', owner: 'host-b' };
 * ```
 */
export interface RegistryErrorDetails {
  INVALID_INSTANCE_ID: { id?: string; length?: number };
  UNKNOWN_MACHINE: { type: string; id?: string; leftForAnotherProcess?: boolean };
  TYPE_MISMATCH: { id: string; type: string; existingType: string };
  INSTANCE_EXISTS: { id: string; status: string };
  INSTANCE_NOT_FOUND: { id: string };
  INSTANCE_NOT_RUNNING: { id: string; status: string };
  INSTANCE_RUNNING: { id: string };
  INVALID_EVENT: { received?: string };
  /** The offending option, when there is one to name. */
  INVALID_ARGUMENT: Record<string, unknown>;
  REGISTRY_CLOSED: Record<string, never>;
  REGISTRY_NOT_STARTED: Record<string, never>;
  /** `deadline`: ISO 8601 on the registry's clock. */
  TIMEOUT: { id: string; deadline: string };
  /** `event`: the registry event whose listener threw; `id`: the instance a handle subscriber watched. */
  LISTENER_FAILED: { event?: string; id?: string };
  PERSIST_FAILED: { id?: string } & WriteFailureDetails;
  SNAPSHOT_TOO_LARGE: {
    id?: string;
    path?: string;
    bytes?: number;
    limit?: number;
  } & WriteFailureDetails;
  /** `path`: where in the state the unstorable value is; `child`: an inline child actor's ID. */
  NOT_SERIALIZABLE: { id: string; path?: string; child?: string } & WriteFailureDetails;
  STORE_LOCKED: { dir?: string };
  STORE_CLOSED: WriteFailureDetails;
  CORRUPT_RECORD: { id?: string; key?: string; path?: string } & WriteFailureDetails;
  RESTORE_FAILED: { id?: string; child?: string };
  /** `format`: a record format newer than this process reads. */
  MIGRATION_FAILED: {
    id?: string;
    format?: string;
    type?: string;
    machineVersion?: number;
    version?: number;
    leftForAnotherProcess?: boolean;
  };
  /** `owner`, `leaseExpiresAt`: who holds the lease, and until when (epoch ms), when known. */
  OWNED_ELSEWHERE: { id: string; owner?: string; leaseExpiresAt?: number } & WriteFailureDetails;
  /** `owner`: this process, whose write was refused. */
  FENCED: { id: string; owner?: string } & WriteFailureDetails;
  QUARANTINE_FAILED: { key: string; id?: string };
  /** `lost`: passivated instances whose state lived only in the lost store entries. */
  STORE_REPAIRED: { dir?: string; lost?: string[] };
  RESERVED_EVENT: { type: string };
  ABORTED: { id: string };
  /** A send to an actor object the registry has stopped hosting; `id`: its instance. */
  STALE_ACTOR: { id: string; eventType: string };
  /** `TestClock`: how many timers due at once it fired in a row without time passing, and how many are left pending. */
  TIMER_LIMIT: { limit: number; pending: number };
}

/**
 * Every stable error code the registry and its stores can produce.
 *
 * @example
 * ```ts
 * const code: RegistryErrorCode = 'INSTANCE_NOT_FOUND';
 * ```
 */
export type RegistryErrorCode = keyof RegistryErrorDetails;

/**
 * The details type of code `C`. An error not narrowed to one code (a plain
 * `RegistryError`) and the HTTP layer's codes carry a plain record.
 *
 * @example
 * ```ts
 * type D = ErrorDetailsOf<'TIMEOUT'>; // { id: string; deadline: string }
 * ```
 */
export type ErrorDetailsOf<C extends string> = RegistryErrorCode extends C
  ? Record<string, unknown>
  : C extends RegistryErrorCode
    ? RegistryErrorDetails[C]
    : Record<string, unknown>;

/**
 * The one error class of xstate-registry. `code` is stable; `message` says what
 * happened and what to do about it; `details` carries the facts, typed per code
 * (narrow with {@link isRegistryError}); `cause` the underlying error, if any.
 *
 * @example
 * ```ts
 * try {
 *   await registry.spawnSingleton('job', 'nightly', { ifRunning: 'throw' });
 * } catch (err) {
 *   if (isRegistryError(err, 'INSTANCE_EXISTS')) console.log(err.details.status); // typed
 * }
 * ```
 */
export class RegistryError<C extends string = RegistryErrorCode> extends Error {
  override readonly name = 'RegistryError';
  readonly code: C;
  /** Structured facts about the failure (the instance ID, the owner, a limit...). */
  readonly details: Readonly<ErrorDetailsOf<C>>;

  constructor(
    code: C,
    message: string,
    options: { cause?: unknown; details?: ErrorDetailsOf<C> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? ({} as ErrorDetailsOf<C>);
  }

  /** A plain, JSON-safe description of the error, as HTTP answers and statuses carry it. */
  toJSON(): { name: string; code: C; message: string; details: unknown } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Whether `err` is a {@link RegistryError}, optionally with the given code;
 * with a code, `err.details` is typed for it.
 *
 * @example
 * ```ts
 * if (isRegistryError(err, 'OWNED_ELSEWHERE')) retryAt(err.details.leaseExpiresAt);
 * if (isRegistryError(err, 'INSTANCE_NOT_FOUND')) return new Response(null, { status: 404 });
 * ```
 */
export function isRegistryError<C extends RegistryErrorCode = RegistryErrorCode>(
  err: unknown,
  code?: C,
): err is RegistryError<C> {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}

/**
 * A JSON-safe rendering of anything thrown, for statuses and persisted records.
 *
 * @example
 * ```ts
 * const status = await registry.getStatus('j1');
 * if (status?.error) console.log(status.error.name, status.error.message);
 * ```
 */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

/**
 * Turns any thrown value into a {@link SerializedError}; machines can throw
 * strings, plain objects or `Error`s, and all of them must survive `JSON.stringify`.
 *
 * @example
 * ```ts
 * serializeError(new TypeError('boom')); // { name: 'TypeError', message: 'boom', stack: '...' }
 * ```
 */
export function serializeError(err: unknown): SerializedError {
  // It runs inside XState's observer of a failed actor, where a throw would
  // escape as an uncaught exception and end the process: a failure whose
  // parts cannot be read or turned into text (a getter that throws, an
  // object without a prototype) is described, never rethrown.
  try {
    if (err instanceof Error) {
      const out: SerializedError = { name: asText(err.name), message: asText(err.message) };
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string') out.code = code;
      const stack = err.stack;
      if (stack) out.stack = asText(stack);
      return out;
    }
    if (err && typeof err === 'object' && 'message' in err) {
      return { name: 'Error', message: asText((err as { message: unknown }).message) };
    }
    return { name: 'Error', message: asText(err) };
  } catch {
    return { name: 'Error', message: `a failure that cannot be read (${describeValue(err)})` };
  }
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch {
    return describeValue(value);
  }
}

/**
 * A short description of a value for an error message, which never throws
 * (`String()` throws for a symbol and for an object without a prototype).
 *
 * @example
 * ```ts
 * describeValue(Symbol('s')); // 'Symbol(s)'
 * describeValue(Object.create(null)); // 'an object'
 * ```
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'symbol') return value.toString();
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}
