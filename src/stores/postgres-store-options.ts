import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { RegistryError } from '../errors.js';

/**
 * How a {@link PostgresStore} reaches its database and names its leases.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { connectionString: process.env.DATABASE_URL, leaseMs: 5_000 };
 * ```
 */
export interface PostgresStoreOptions {
  /** A libpq connection string, e.g. `postgres://user:pass@127.0.0.1:5432/app`. */
  connectionString?: string;
  /** Or a pool you manage (then `close()` leaves it open). */
  pool?: pg.Pool;
  /**
   * A pool for lease renewals alone (one connection is enough; `close()` leaves
   * it open). Renewals that queue behind other queries on a busy pool come
   * too late, and the leases lapse: with `connectionString` the store opens a
   * one-connection pool of its own for them; with `pool`, pass one made the
   * same way (with the same `connect` setup), or renewals share `pool`.
   */
  renewalPool?: pg.Pool;
  /** Table name (letters, digits, underscores). Default `xstate_registry_instances`. */
  table?: string;
  /** How long a lease lasts without renewal. Default 10,000 ms; renewed every third of it. */
  leaseMs?: number;
  /** This process's name in leases. Default `<host>/<pid>/<random>`, unique per process start. */
  ownerId?: string;
}

/**
 * The options checked, defaults filled in, and the pool opened when the
 * caller gave none (`ownsPool`: the store ends it on close).
 *
 * @example
 * ```ts
 * const { pool, table, leaseMs, ownerId, ownsPool } = resolvePostgresOptions({ connectionString });
 * ```
 */
export function resolvePostgresOptions(options: PostgresStoreOptions): {
  table: string;
  leaseMs: number;
  ownerId: string;
  ownsPool: boolean;
  pool: pg.Pool;
  /** Where leases are renewed, and whether the store ends it on close. */
  renewal: { pool: pg.Pool; owned: boolean };
} {
  const table = options.table ?? 'xstate_registry_instances';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(table)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `PostgresStore: table must be lowercase letters, digits and underscores, got '${table}'.`,
    );
  }
  if (!options.pool && !options.connectionString) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'PostgresStore needs { connectionString } or { pool }.',
    );
  }
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: 10 });
  // Built from the caller's own arguments, never copied from a pool's options:
  // pg keeps a password there non-enumerable, and a pool's `connect` setup
  // (a search_path, say) is not in them at all.
  const renewal = options.renewalPool
    ? { pool: options.renewalPool, owned: false }
    : options.pool
      ? { pool, owned: false }
      : { pool: new pg.Pool({ connectionString: options.connectionString, max: 1 }), owned: true };
  return {
    table,
    leaseMs: options.leaseMs ?? 10_000,
    ownerId: options.ownerId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`,
    ownsPool: !options.pool,
    pool,
    renewal,
  };
}
