import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { RegistryError } from '../errors.js';

/** The most a record may be: well under what one string holds in V8 (about 512 MiB of UTF-16). */
const MAX_READ = 256 * 1024 * 1024;

/** The longest delay Node's timers take (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  /**
   * This process's name in leases (shown as the owner in `OWNED_ELSEWHERE`).
   * Default `<host>/<pid>/<random>`, unique per process start. It must be
   * unique among live processes; a fixed name (a pod's) may be reused by the
   * process's replacement, which takes its rows back at once. Leases are
   * fenced by epoch, so two live processes given one name never both write
   * an instance (each claim fences the other), but they take instances from
   * each other, and one closing gives up the other's leases.
   */
  ownerId?: string;
  /**
   * The largest record (and inbox message), in bytes, the store reads: a
   * larger one is refused by its size, asked of the database first, and never
   * fetched (a row of hundreds of megabytes, written by hand, would crash the
   * process inside the driver). Default 64 MiB, at most 256 MiB; the registry
   * writes nothing larger.
   */
  maxRecordBytes?: number;
}

/**
 * The pools a {@link PostgresStore} and its parts work through: `main` for
 * everything but renewals, `renewal` for those (the same pool when renewals
 * share it). The store replaces the pools it made itself when it opens again
 * after `close()` ended them; its parts read them from here at each use.
 *
 * @example
 * ```ts
 * const pools: PostgresPools = { main: pool, renewal: pool };
 * ```
 */
export interface PostgresPools {
  main: pg.Pool;
  renewal: pg.Pool;
}

/**
 * The options checked and defaults filled in, with `makePools()`, which opens
 * the pools the caller gave none for (`owns`: the store ends those on close,
 * and makes new ones to open again) and returns the caller's as they are.
 *
 * @example
 * ```ts
 * const { table, leaseMs, ownerId, owns, makePools } = resolvePostgresOptions({ connectionString });
 * const pools = makePools(); // owns.main: the store ends pools.main on close
 * ```
 */
export function resolvePostgresOptions(options: PostgresStoreOptions): {
  table: string;
  leaseMs: number;
  maxRecordBytes: number;
  ownerId: string;
  /** Which of the pools the store made, and so ends on close. */
  owns: { main: boolean; renewal: boolean };
  makePools: () => PostgresPools;
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
  const { pool: userPool, renewalPool, connectionString } = options;
  // Built from the caller's own arguments, never copied from a pool's options:
  // pg keeps a password there non-enumerable, and a pool's `connect` setup
  // (a search_path, say) is not in them at all.
  const makePools = (): PostgresPools => {
    const main = userPool ?? new pg.Pool({ connectionString, max: 10 });
    const renewal = renewalPool ?? (userPool ? main : new pg.Pool({ connectionString, max: 1 }));
    return { main, renewal };
  };
  const leaseMs = options.leaseMs ?? 10_000;
  // Renewed every third of it, on Node's timers, which take at most 2^31 - 1 ms
  // (a longer delay fires at once: a renewal loop); NaN would reach SQL.
  if (typeof leaseMs !== 'number' || !(leaseMs >= 300 && leaseMs <= MAX_TIMER_MS))
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `PostgresStore: leaseMs must be a number of milliseconds from 300 to ${MAX_TIMER_MS}, got ${String(leaseMs)}.`,
    );
  const maxRecordBytes = options.maxRecordBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 1024 || maxRecordBytes > MAX_READ)
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `PostgresStore: maxRecordBytes must be a whole number of bytes from 1024 to ${MAX_READ}, got ${String(maxRecordBytes)}.`,
    );
  return {
    table,
    leaseMs,
    maxRecordBytes,
    ownerId: options.ownerId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`,
    owns: { main: !userPool, renewal: !renewalPool && !userPool },
    makePools,
  };
}
