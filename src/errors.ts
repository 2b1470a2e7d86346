/**
 * Every stable error code the registry and its stores can produce. Codes are part
 * of the public contract: match on `error.code`, never on the message.
 */
export type RegistryErrorCode =
  | 'INVALID_INSTANCE_ID'
  | 'UNKNOWN_MACHINE'
  | 'TYPE_MISMATCH'
  | 'INSTANCE_EXISTS'
  | 'INSTANCE_NOT_FOUND'
  | 'INSTANCE_NOT_RUNNING'
  | 'INSTANCE_RUNNING'
  | 'INVALID_EVENT'
  | 'INVALID_ARGUMENT'
  | 'REGISTRY_CLOSED'
  | 'REGISTRY_NOT_STARTED'
  | 'TIMEOUT'
  | 'LISTENER_FAILED'
  | 'ACTOR_FAILED'
  | 'PERSIST_FAILED'
  | 'SNAPSHOT_TOO_LARGE'
  | 'NOT_SERIALIZABLE'
  | 'STORE_LOCKED'
  | 'STORE_CLOSED'
  | 'CORRUPT_RECORD'
  | 'RESTORE_FAILED'
  | 'MIGRATION_FAILED'
  | 'BACKPRESSURE'
  | 'OWNED_ELSEWHERE'
  | 'FENCED'
  | 'QUARANTINE_FAILED'
  | 'STORE_REPAIRED'
  | 'RESERVED_EVENT'
  | 'ABORTED'
  | 'ACTOR_DETACHED'
  // HTTP layer
  | 'INVALID_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'METHOD_NOT_ALLOWED'
  | 'ROUTE_NOT_FOUND'
  | 'FORBIDDEN'
  | 'CROSS_ORIGIN_REFUSED'
  | 'HOST_NOT_ALLOWED'
  | 'BODY_CONSUMED'
  | 'NOT_READY'
  | 'INTERNAL';

/**
 * The one error class of xstate-registry. `code` is stable; `message` says what
 * happened and what to do about it; `cause` carries the underlying error, if any.
 *
 * @example
 * ```ts
 * try {
 *   await registry.spawnSingleton('job', 'nightly', { ifRunning: 'throw' });
 * } catch (err) {
 *   if (err instanceof RegistryError && err.code === 'INSTANCE_EXISTS') {
 *     // answer 409
 *   }
 * }
 * ```
 */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  /** Structured facts about the failure (the instance ID, the owner, a limit...). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: RegistryErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  /** A plain, JSON-safe description of the error, as HTTP answers and statuses carry it. */
  toJSON(): { name: string; code: RegistryErrorCode; message: string; details: unknown } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Whether `err` is a {@link RegistryError}, optionally with the given code.
 *
 * @example
 * ```ts
 * if (isRegistryError(err, 'INSTANCE_NOT_FOUND')) return new Response(null, { status: 404 });
 * ```
 */
export function isRegistryError(err: unknown, code?: RegistryErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}

/** A JSON-safe rendering of anything thrown, for statuses and persisted records. */
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
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, message: err.message };
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    if (err.stack) out.stack = err.stack;
    return out;
  }
  if (err && typeof err === 'object' && 'message' in err) {
    return { name: 'Error', message: String((err as { message: unknown }).message) };
  }
  return { name: 'Error', message: String(err) };
}
