import { RegistryError } from '../errors.js';
import type { ClaimResult } from './cluster-store.js';
import { claimRows, renewRows } from './postgres-lease.js';
import { columnsOf } from './postgres-row.js';
import type { PostgresPools } from './postgres-store-options.js';
import type { RecordMeta } from './store.js';

/**
 * The leases one {@link PostgresStore} holds, by instance ID, and their
 * renewal. The store moves IDs between the three sets as it claims, writes,
 * releases and deletes; `claim()` takes a lease, `renew()` extends every held lease and reports the
 * ones lost to `onLost`.
 *
 * @example
 * ```ts
 * const leases = new LeaseBook({ main: pool, renewal: pool }, t, ownerId, 10_000, { onLost: (id) => {}, onError: (err) => {} });
 * leases.epochs.set('order-1', 1);
 * await leases.renew();
 * ```
 */
export class LeaseBook {
  /** Epoch of every lease this process holds. */
  readonly epochs = new Map<string, number>();
  /**
   * Epoch of every finished instance whose final write gave up its lease: its
   * row is nobody's, but until the registry forgets it, this process may still
   * write (a replacement) or delete (a purge) it, fenced by that epoch.
   */
  readonly released = new Map<string, number>();
  /** IDs claimed here with no record yet: their first write tells waiting processes it landed. */
  readonly bare = new Set<string>();
  /** Renewals go to `renewal`, their own pool where there is one: queued behind a busy pool's queries, they came too late. */
  readonly #pools: Readonly<PostgresPools>;
  readonly #t: string;
  readonly #ownerId: string;
  readonly #leaseMs: number;
  readonly #report: { onLost: (id: string) => void; onError: (err: unknown) => void };
  #renewing = false;

  constructor(
    pools: Readonly<PostgresPools>,
    t: string,
    ownerId: string,
    leaseMs: number,
    report: { onLost: (id: string) => void; onError: (err: unknown) => void },
  ) {
    this.#pools = pools;
    this.#t = t;
    this.#ownerId = ownerId;
    this.#leaseMs = leaseMs;
    this.#report = report;
  }

  /**
   * Takes the lease on `id` with the claim statement `sql`, retried while the
   * row changes hands under it; see {@link PostgresStore.claim}.
   */
  async claim(
    sql: string,
    id: string,
    initial?: { text: string; meta: RecordMeta },
  ): Promise<ClaimResult> {
    const columns = initial ? columnsOf(id, initial.text, initial.meta) : undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const all = await claimRows(this.#pools.main, this.#t, sql, {
        id,
        ownerId: this.#ownerId,
        leaseMs: this.#leaseMs,
        heldEpoch: this.epochs.get(id),
        ...(initial ? { text: initial.text, columns } : {}),
      });
      const won = all.find((row) => row.epoch !== null);
      if (won) {
        const epoch = Number(won.epoch);
        this.epochs.set(id, epoch);
        this.released.delete(id);
        const oversized = won.record === null && won.bytes !== null;
        if (won.record === null && !oversized) this.bare.add(id);
        const result: ClaimResult = { owned: true, epoch, text: won.record ?? undefined };
        if (won.created && initial) result.created = true;
        if (oversized) result.oversized = Number(won.bytes);
        return result;
      }
      const other = all.find((row) => row.owner !== null);
      if (other?.live)
        return { owned: false, owner: other.owner as string, expiresAt: Number(other.until) };
      // Released, expired or inserted by someone else since this statement's snapshot: look again.
    }
    throw new RegistryError(
      'OWNED_ELSEWHERE',
      `Instance '${id}' keeps changing hands; try again.`,
      { details: { id } },
    );
  }

  /** Forgets every lease (the store gave them all up). */
  clear(): void {
    this.epochs.clear();
    this.released.clear();
    this.bare.clear();
  }

  /** Renews every lease held; the ones that come back missing were lost. */
  async renew(): Promise<void> {
    // One renewal at a time: a renewal slowed by row locks (another process
    // writing rows this one lost) must not be joined by the next tick's, or they
    // pile up until they hold every connection of the pool and nothing else
    // (writes, claims, mail) runs, so every lease lapses.
    if (this.epochs.size === 0 || this.#renewing) return;
    this.#renewing = true;
    const ids = [...this.epochs.keys()];
    try {
      const kept = await renewRows(this.#pools.renewal, this.#t, this.#ownerId, ids, this.#leaseMs);
      for (const id of ids) {
        if (!this.epochs.has(id)) continue; // released meanwhile
        if (kept.get(id) === this.epochs.get(id)) continue;
        this.epochs.delete(id);
        this.bare.delete(id);
        this.#report.onLost(id);
      }
    } catch (err) {
      // The database is unreachable: keep the leases we think we hold; fenced
      // writes protect the data if another process takes over meanwhile.
      this.#report.onError(err);
    } finally {
      this.#renewing = false;
    }
  }
}
