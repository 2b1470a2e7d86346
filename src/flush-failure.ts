import { RegistryError } from './errors.js';

/**
 * The one error a flush rejects with when some instances' writes failed: it
 * names exactly those instances in `details.ids` (and each one's code in
 * `details.failures`), and keeps the failures' code when they all share one, so
 * a caller can tell a fenced process (`FENCED`) from a failing disk.
 *
 * @example
 * ```ts
 * const first = failed[0];
 * if (first) throw flushFailure(failed, first);
 * ```
 */
export function flushFailure(
  failed: Array<{ id: string; error: RegistryError }>,
  first: { id: string; error: RegistryError },
): RegistryError {
  const ids = failed.map((f) => f.id);
  const codes = new Set(failed.map((f) => f.error.code));
  const shown = ids
    .slice(0, 10)
    .map((id) => `'${id}'`)
    .join(', ');
  return new RegistryError(
    codes.size === 1 ? first.error.code : 'PERSIST_FAILED',
    failed.length === 1
      ? first.error.message
      : `${failed.length} instances are not durable (${shown}${failed.length > 10 ? ', ...' : ''}; all in details.ids). First failure: ${first.error.message}`,
    {
      cause: first.error,
      details: {
        ...first.error.details,
        ids,
        failures: Object.fromEntries(failed.map((f) => [f.id, f.error.code])),
      },
    },
  );
}

/**
 * A rejection as a `RegistryError`: a store may reject with anything.
 *
 * @example
 * ```ts
 * failed.push({ id, error: asRegistryError(result.reason) });
 * ```
 */
export function asRegistryError(err: unknown): RegistryError {
  return err instanceof RegistryError
    ? err
    : new RegistryError('PERSIST_FAILED', 'Writing failed.', { cause: err });
}
