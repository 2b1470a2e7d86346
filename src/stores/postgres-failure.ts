import { RegistryError } from '../errors.js';

/**
 * What a call gets when PostgreSQL fails under it (unreachable, restarting, a
 * connection cut): the driver's error as the `cause` of a `PERSIST_FAILED`
 * (HTTP 503), so that callers can tell a store failing from a bad call and
 * retry. The registry's own errors (`FENCED`, `INVALID_ARGUMENT`, ...) pass
 * through as they are.
 *
 * @example
 * ```ts
 * return readRow(pool, t, id).catch(databaseFailed('read the record of an instance'));
 * ```
 */
export function databaseFailed(what: string): (cause: unknown) => never {
  return (cause) => {
    if (cause instanceof RegistryError) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new RegistryError(
      'PERSIST_FAILED',
      `PostgreSQL failed to ${what} (${reason}); the call can be retried once the database answers.`,
      { cause },
    );
  };
}
