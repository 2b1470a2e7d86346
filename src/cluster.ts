import type { ClusterDeps, ClusterMail } from './cluster-deps.js';
import { countCluster, listCluster, reportClusterError } from './cluster-query.js';
import { isRegistryError, RegistryError } from './errors.js';
import { foreignRecord, statusOfStoredText } from './foreign-record.js';
import {
  assertRecordOf,
  decodeRecord,
  failHydration,
  instanceFromRecord,
  resume,
} from './hydration.js';
import type { Instance } from './instance.js';
import type { CountFilter } from './instance-index.js';
import type { ListFilter, ListPage } from './list-query.js';
import type { InstanceStatus } from './status.js';
import type { StatusCounts } from './status-tally.js';
import type { ClusterStore } from './stores/cluster-store.js';
import { type RecordMeta, storeKey } from './stores/store.js';

export type { ClusterDeps, ClusterMail };

/**
 * Hosting over a {@link ClusterStore}: this process holds a lease on every
 * instance it hosts. Instances are adopted on demand (claimed, then restored
 * from their last record), orphans of a dead owner are taken over by a periodic
 * sweep, and an instance whose lease is lost (fenced) is stopped here at once so
 * that only the new owner's copy runs.
 */
export class ClusterHosting {
  readonly #d: ClusterDeps;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #sweeping = false;
  /** Finished instances whose lease is being given up (once their final record is durable). */
  readonly #releasing = new WeakSet<Instance>();
  readonly #unsubscribe: Array<() => void> = [];
  /** Type → newest machine version this process has: what its sweeps may take over. */
  readonly #decodable: ReadonlyMap<string, number>;

  constructor(deps: ClusterDeps) {
    this.#d = deps;
    this.#decodable = new Map([...deps.machines.values()].map((d) => [d.type, d.version]));
    this.#unsubscribe.push(
      deps.store.onLeaseLost((id) => this.lost(id, 'its lease could not be renewed')),
    );
    const offError = deps.store.onError?.((cause) =>
      deps.emitter.emit(
        'error',
        new RegistryError(
          'PERSIST_FAILED',
          'The cluster store reported a background failure; actors keep running and writes are retried.',
          { cause },
        ),
      ),
    );
    if (offError) this.#unsubscribe.push(offError);
    // A fenced write means another process owns the instance now: stop our copy.
    this.#unsubscribe.push(
      deps.persister.onFailed((err) => {
        if (isRegistryError(err, 'FENCED')) this.lost(err.details.id, 'a write was fenced');
      }),
    );
  }

  /** Takes over orphans now, then every `sweepIntervalMs`. Resolves to how many were taken over. */
  async start(): Promise<number> {
    this.#d.mail?.start();
    const n = await this.takeOver();
    this.#sweep = setInterval(
      () =>
        void this.takeOver()
          .then(() => this.#d.mail?.sweep())
          .catch(() => {}), // the database is away: the next sweep tries again
      this.#d.sweepIntervalMs,
    );
    this.#sweep.unref();
    return n;
  }

  stop(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#d.mail?.stop();
  }

  /** Stops listening to the store (the registry is closed: its store may outlive it). */
  dispose(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  /** Claims and resumes running instances whose owner's lease expired. */
  async takeOver(): Promise<number> {
    if (this.#sweeping) return 0;
    this.#sweeping = true;
    let taken = 0;
    try {
      for (const id of await this.#d.store.orphans(100, this.#decodable)) {
        if (this.#d.instances.has(id)) continue;
        try {
          if ((await this.#d.gate.exclusive(id, () => this.adopt(id, false))) === 'adopted')
            taken++;
        } catch (err) {
          const expected =
            err instanceof RegistryError &&
            (err.code === 'OWNED_ELSEWHERE' || err.details.leftForAnotherProcess === true);
          if (!expected) reportClusterError(this.#d.emitter, err);
        }
      }
    } finally {
      this.#sweeping = false;
    }
    return taken;
  }

  /**
   * Under the ID's lock: makes `id` local if it is not. Claims it (throwing
   * `OWNED_ELSEWHERE` when another live process holds it) and restores its last
   * record. With nothing stored, keeps the claim when `create` (the caller is
   * about to create it) and gives it back otherwise. With `initial` (the first
   * record of the instance the caller is about to create), an ID never stored
   * is stored with it in the claim's own commit: `created`, and the caller
   * admits and starts the instance it encoded.
   */
  async adopt(
    id: string,
    create: boolean,
    initial?: { text: string; meta: RecordMeta },
  ): Promise<'local' | 'adopted' | 'missing' | 'created'> {
    if (this.#d.instances.has(id)) return 'local';
    const claim = await this.#d.store.claim(id, initial).catch((err: unknown) => {
      // The database refused the first record (a constraint, a trigger): claim
      // without it, so the ordinary write reports the failure as it always has.
      // (The store reports a database's refusal as PERSIST_FAILED.)
      if (!initial || (err instanceof RegistryError && err.code !== 'PERSIST_FAILED')) throw err;
      return this.#d.store.claim(id);
    });
    if (!claim.owned) {
      throw new RegistryError(
        'OWNED_ELSEWHERE',
        `Instance '${id}' is hosted by ${claim.owner} (lease until ${new Date(claim.expiresAt).toISOString()}); send the request to that process, or retry after its lease expires.`,
        { details: { id, owner: claim.owner, leaseExpiresAt: claim.expiresAt } },
      );
    }
    if (claim.created) return 'created';
    // Never fetched (see PostgresStoreOptions.maxRecordBytes), and left where it
    // is: a process configured with a larger limit may host it.
    if (claim.oversized !== undefined) {
      await this.#d.store.release(id);
      throw oversizedError(id, claim.oversized, this.#d.store.maxRecordBytes);
    }
    if (claim.text === undefined) {
      if (!create) await this.#d.store.release(id);
      return 'missing';
    }
    let decoded: ReturnType<typeof decodeRecord>;
    try {
      decoded = decodeRecord(claim.text, this.#d.machines);
    } catch (err) {
      // A rolling deploy: another process has this type or version. Leave the
      // record as it is for that process, and let go of it at once.
      const foreign = foreignRecord(claim.text, this.#d.machines);
      if (foreign) {
        await this.#d.store.release(id);
        throw foreign;
      }
      throw await this.#quarantine(id, err, 'CORRUPT_RECORD', 'could not be decoded');
    }
    try {
      assertRecordOf(decoded.record, id);
    } catch (err) {
      throw await this.#quarantine(id, err, 'CORRUPT_RECORD', 'holds another instance');
    }
    const instance = instanceFromRecord(decoded);
    if (instance.status !== 'running') {
      this.#d.instances.admit(instance);
      // Read for this call only (an idempotent repeat, a refused send, a stop):
      // finished instances are nobody's, so give the lease back once it is done.
      this.finished(instance);
      return 'adopted';
    }
    let actor: ReturnType<typeof resume>;
    try {
      actor = resume(instance, decoded.snapshot, decoded.record.timers, {
        clock: this.#d.clock,
        actors: this.#d.actors,
        emitter: this.#d.emitter,
      });
    } catch (err) {
      // As at start(): set aside with its reason (its pending write retired). Kept claimed, it would stay leased
      // to this process (which cannot host it) and unreachable for everyone else.
      this.#d.instances.drop(instance);
      throw await this.#quarantine(id, err, 'RESTORE_FAILED', 'could not be restored');
    }
    this.#d.instances.admit(instance);
    this.#d.emitter.emit('restored', { id, type: instance.type, actor });
    // Mail posted while another process hosted it (or nobody did) comes first.
    // Not drained: give it back rather than take new calls ahead of its mail.
    try {
      await this.#d.mail?.drainHere(id);
    } catch (err) {
      this.lost(id, 'the mail waiting for it could not be applied');
      await this.#d.store.release(id).catch(() => {});
      throw err;
    }
    return 'adopted';
  }

  /**
   * A finished instance (done, failed, stopped) needs no host: once its final
   * record is durable, give up its lease and forget it here, so that any
   * process may read, replace or purge it.
   */
  finished(instance: Instance): void {
    if (this.#releasing.has(instance)) return;
    this.#releasing.add(instance);
    void this.#d.persister
      .durable(instance)
      .then(() =>
        this.#d.gate.exclusive(instance.id, async () => {
          if (this.#d.instances.get(instance.id) !== instance || instance.status === 'running')
            return;
          this.#d.instances.drop(instance);
          await this.#d.store.release(instance.id);
        }),
      )
      .catch(() => {
        this.#releasing.delete(instance); // the write failed: it is retried, and so is this
      });
  }

  /** This process lost `id` to another owner: stop its copy without writing, and say so. */
  lost(id: string, why: string): void {
    const instance = this.#d.instances.get(id);
    if (!instance) return;
    const error = new RegistryError(
      'FENCED',
      `Instance '${id}' now belongs to another process (${why}); this process stopped its copy and dropped its unwritten changes.`,
      { details: { id } },
    );
    const hosted = instance.actor && instance.status === 'running';
    // Gone first, so that stopping its actor below is not recorded as a stop.
    this.#d.instances.drop(instance, error);
    if (hosted) this.#d.actors.detach(instance, false);
    this.#d.emitter.emit('lost', { id, type: instance.type });
    this.#d.emitter.emit('error', error);
  }

  /** The status of an instance hosted anywhere, from its stored record. */
  async remoteStatus(id: string): Promise<InstanceStatus | undefined> {
    const text = await this.#d.store.read(id);
    return text === undefined ? undefined : statusOfStoredText(text, this.#d.machines);
  }

  /** Moves the claimed row of `id` to quarantine, reports it, and returns the error to throw. */
  async #quarantine(
    id: string,
    err: unknown,
    code: 'CORRUPT_RECORD' | 'RESTORE_FAILED',
    what: string,
  ): Promise<RegistryError> {
    const cause =
      err instanceof RegistryError
        ? err
        : new RegistryError(code, `Instance '${id}' ${what}.`, { cause: err, details: { id } });
    const { error, moved } = await failHydration(
      this.#d.store,
      (name, payload) => this.#d.emitter.emit(name, payload),
      this.#d.store.keyOf?.(id) ?? storeKey(id),
      id,
      cause,
      code,
    );
    // Not moved aside: still claimed by this process, which cannot host it. Give
    // the lease back, so it is not held for ever out of everyone's reach.
    if (!moved) await this.#d.store.release(id).catch(() => {});
    return error;
  }

  /** `list()` served by the store's query (see {@link listCluster}). */
  list(filter: ListFilter): Promise<ListPage<InstanceStatus>> {
    return listCluster(this.#d, filter);
  }

  /** `counts()` of every process's stored instances, counted by the store. */
  counts(filter: CountFilter): Promise<StatusCounts> {
    return countCluster(this.#d.store, filter);
  }
}

function oversizedError(id: string, bytes: number, limit: number | undefined): RegistryError {
  return new RegistryError(
    'SNAPSHOT_TOO_LARGE',
    `The stored record of instance '${id}' is ${bytes} bytes, over this store's maxRecordBytes (${limit}): it is left where it is, unread, for a process whose store reads that much (or for an operator to shrink or remove).`,
    { details: { id, bytes, ...(limit === undefined ? {} : { limit }) } },
  );
}
