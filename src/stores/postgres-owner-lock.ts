import pg from 'pg';
import { RegistryError } from '../errors.js';

/**
 * One live process per owner ID and table. Leases name their holder by owner
 * ID alone, and a claim by the same ID keeps the row's epoch (a process takes
 * back its own rows without fencing itself), so two processes configured with
 * one `ownerId` would both host the same instances, and their writes would
 * both pass the fence. A session advisory lock on a connection of its own
 * says whether another process holds the ID now: the database drops it when
 * that process's session ends (exit, SIGKILL, a lost connection), whatever its
 * host or pid, and keeps it while the process is merely paused.
 *
 * @example
 * ```ts
 * const lock = new PostgresOwnerLock(pool.options, 'xstate_registry_instances', 'pod-7', console.error);
 * await lock.acquire(); // STORE_LOCKED while another live process uses 'pod-7'
 * await lock.release();
 * ```
 */
export class PostgresOwnerLock {
  readonly #config: pg.ClientConfig;
  readonly #key: string;
  readonly #ownerId: string;
  readonly #report: (err: unknown) => void;
  #client: pg.Client | undefined;
  #held = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Whether a refusal after a lost connection was reported (once per outage). */
  #reportedTaken = false;

  constructor(
    config: pg.ClientConfig,
    table: string,
    ownerId: string,
    report: (err: unknown) => void,
  ) {
    this.#config = config;
    this.#key = `xstate-registry:owner:${table}:${ownerId}`;
    this.#ownerId = ownerId;
    this.#report = report;
  }

  /** Takes the lock; `STORE_LOCKED` when another live session holds it. */
  async acquire(): Promise<void> {
    this.#held = true;
    try {
      await this.#take();
    } catch (err) {
      this.#held = false;
      throw err;
    }
  }

  /** Ends the lock's session, which lets go of it. */
  async release(): Promise<void> {
    this.#held = false;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => {});
  }

  async #take(): Promise<void> {
    const client = new pg.Client(this.#config);
    // A dropped connection (a database restart) lost the lock with it: take it again.
    client.on('error', (err) => {
      if (this.#client !== client) return;
      this.#report(err);
      this.#client = undefined;
      void client.end().catch(() => {});
      this.#retake();
    });
    let free: boolean;
    try {
      await client.connect();
      const { rows } = await client.query<{ free: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS free',
        [this.#key],
      );
      free = rows[0]?.free === true;
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (!free) {
      await client.end().catch(() => {});
      throw new RegistryError(
        'STORE_LOCKED',
        `Another live process uses ownerId '${this.#ownerId}' on this table; give each process its own ownerId (or leave it unset: the default is unique per process start). Two processes with one ownerId would host the same instances.`,
        { details: { ownerId: this.#ownerId } },
      );
    }
    if (!this.#held) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#reportedTaken = false;
  }

  #retake(): void {
    if (!this.#held) return;
    this.#retry = setTimeout(() => {
      this.#take().catch((err: unknown) => {
        const taken = err instanceof RegistryError;
        if (!taken || !this.#reportedTaken) this.#report(err);
        if (taken) this.#reportedTaken = true;
        this.#retake();
      });
    }, 500);
    this.#retry.unref();
  }
}
