import { createHash } from 'node:crypto';
import { assertIdempotencyKey } from '../idempotency.js';

/**
 * The instance ID that `POST /instances/{type}` with `Idempotency-Key: key`
 * creates: derived from the type and the key (SHA-256, 126 bits, base64url, 21
 * characters like a generated ID), so every retry of the request names the
 * same instance and `ensureSingleton` creates it at most once.
 *
 * Deriving the ID rather than remembering keys means nothing to hold in memory
 * or to expire, and the answer is the same after a restart and from every
 * process of a PostgreSQL cluster, which a per-process table of keys could not
 * promise. A key is remembered as long as its instance is (a purged instance's
 * key creates a new one). `INVALID_ARGUMENT` for a malformed key.
 *
 * @example
 * ```ts
 * const id = idempotentCreateId('job', '5f0c6a1e-create'); // same for every retry
 * await registry.ensureSingleton('job', id, { ifRunning: 'return', ifFinished: 'return' });
 * ```
 */
export function idempotentCreateId(type: string, key: string): string {
  assertIdempotencyKey(key);
  // The NUL separator cannot occur in a type name or a valid key, so no two pairs collide.
  return createHash('sha256').update(`${type}\u0000${key}`).digest('base64url').slice(0, 21);
}
