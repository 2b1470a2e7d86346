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
  return {
    table,
    leaseMs: options.leaseMs ?? 10_000,
    ownerId: options.ownerId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`,
    ownsPool: !options.pool,
    pool: options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: 10 }),
  };
}
