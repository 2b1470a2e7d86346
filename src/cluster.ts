import type { ActorHost } from './actor-host.js';
import type { Clock } from './clock.js';
import { isRegistryError, RegistryError } from './errors.js';
import { decodeRecord, failHydration, instanceFromRecord, resume } from './hydration.js';
import type { Instance } from './instance.js';
import type { InstanceTable } from './instance-table.js';
import { type ListFilter, type ListPage, normalizeFilter } from './list-query.js';
import type { ResolvedMachine } from './machines.js';
import type { Persister } from './persister.js';
import { type InstanceRecord, parseRecord, RECORD_FORMAT, safeJsonParse } from './record.js';
import type { RegistryEmitter } from './registry-events.js';
import type { RegistryGate } from './registry-gate.js';
import { type InstanceStatus, statusOf, statusOfRecord } from './status.js';
import { storedStatus } from './stored-status.js';
import { type ClusterStore, type RecordMeta, storeKey } from './stores/store.js';

export interface ClusterDeps {
  store: ClusterStore;
  clock: Clock;
  instances: InstanceTable;
  machines: Map<string, ResolvedMachine>;
  persister: Persister;
  actors: ActorHost;
  emitter: RegistryEmitter;
  /** Runs work under an instance ID's lock, counted in flight until it settles. */
  gate: RegistryGate;
  /** How often to look for instances whose owner died. */
  sweepIntervalMs: number;
  /** Mail from other processes, when the store carries an inbox. */
  mail?: ClusterMail;
}

/**
 * What hosting needs of the mail between processes (`RemoteDelivery`).
 *
 * @example
 * ```ts
 * const mail: ClusterMail = { start: () => remote.start(), stop: () => remote.stop(), drainHere: (id) => remote.drainHere(id), sweep: () => remote.sweep() };
 * ```
 */
export interface ClusterMail {
  /** Listens for mail, and for processes handing their instances over. */
  start(): void;
  stop(): void;
  /** Applies the mail waiting for a just-adopted instance (under its lock), before any new call reaches it. */
  drainHere(id: string): Promise<void>;
  /** Applies mail the notifications missed. */
  sweep(): Promise<void>;
}

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
          if (!expected) this.#report(err);
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
      if (!initial || err instanceof RegistryError) throw err;
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
      const foreign = this.#foreign(claim.text);
      if (foreign) {
        await this.#d.store.release(id);
        throw foreign;
      }
      throw await this.#quarantine(id, err, 'CORRUPT_RECORD', 'could not be decoded');
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
      // As at start(): set aside with its reason. Kept claimed, it would stay leased
      // to this process (which cannot host it) and unreachable for everyone else.
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
    return text === undefined ? undefined : this.#statusOfText(text);
  }

  /**
   * A status from a row, decodable here or not: a record of a type or version
   * only another process has is described from its envelope and snapshot.
   */
  #statusOfText(text: string): InstanceStatus {
    let decoded: ReturnType<typeof decodeRecord>;
    try {
      decoded = decodeRecord(text, this.#d.machines);
    } catch (err) {
      let record: InstanceRecord;
      try {
        record = parseRecord(text);
      } catch {
        throw newerFormat(text) ?? err;
      }
      return statusOfRecord(record);
    }
    return statusOf(instanceFromRecord(decoded), decoded.snapshot, decoded.record.timers);
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

  /** Why this process cannot host a record another process can (unknown type, newer version), if so. */
  #foreign(text: string): RegistryError | undefined {
    let record: InstanceRecord;
    try {
      record = parseRecord(text);
    } catch {
      return newerFormat(text);
    }
    const { id, type, machineVersion } = record;
    const def = this.#d.machines.get(type);
    if (!def) {
      return new RegistryError(
        'UNKNOWN_MACHINE',
        `Instance '${id}' has type '${type}', which this process does not register; it is left untouched for a process that does (send the request there, or deploy the machine here).`,
        { details: { id, type, leftForAnotherProcess: true } },
      );
    }
    if (machineVersion > def.version) {
      return new RegistryError(
        'MIGRATION_FAILED',
        `Instance '${id}' was written by version ${machineVersion} of machine '${type}', newer than this process's version ${def.version}; it is left untouched for a process that runs version ${machineVersion} or later.`,
        {
          details: { id, type, machineVersion, version: def.version, leftForAnotherProcess: true },
        },
      );
    }
    return undefined;
  }

  /** `list()` served by the store's query, with this process's fresher state for the instances it hosts. */
  async list(filter: ListFilter): Promise<ListPage<InstanceStatus>> {
    const f = normalizeFilter(filter);
    if (f.idPrefix !== undefined || f.order !== 'created') {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        "list(): idPrefix and order: 'updated' are not available with a cluster store yet; filter by status and type.",
      );
    }
    const page = await this.#d.store.query({
      ...(f.statuses ? { status: [...f.statuses] } : {}),
      ...(f.types ? { type: [...f.types] } : {}),
      ...(f.createdFrom !== undefined ? { createdFrom: f.createdFrom } : {}),
      ...(f.createdTo !== undefined ? { createdTo: f.createdTo } : {}),
      ...(f.updatedFrom !== undefined ? { updatedFrom: f.updatedFrom } : {}),
      ...(f.updatedTo !== undefined ? { updatedTo: f.updatedTo } : {}),
      limit: f.limit,
      ...(f.cursor !== undefined ? { cursor: f.cursor } : {}),
    });
    const statuses = await Promise.all(
      page.texts.map(async (text) => {
        try {
          const status = this.#statusOfText(text);
          const here = this.#d.instances.get(status.id);
          return here ? await storedStatus(this.#d.store, this.#d.machines, here) : status;
        } catch (err) {
          // One damaged row must not hide the others: report it and list the rest.
          this.#report(err);
          return undefined;
        }
      }),
    );
    const items = statuses.filter((s): s is InstanceStatus => s !== undefined);
    return page.cursor ? { items, cursor: page.cursor } : { items };
  }

  #report(err: unknown): void {
    this.#d.emitter.emit(
      'error',
      err instanceof RegistryError
        ? err
        : new RegistryError('RESTORE_FAILED', 'Taking over an orphaned instance failed.', {
            cause: err,
          }),
    );
  }
}

const FORMAT = /^xstate-registry\/(\d+)$/;

/**
 * A record written by a newer xstate-registry (a record format after this one's):
 * during a rolling deploy of the library itself it belongs to the newer processes,
 * and setting it aside as corrupt here would take it from them.
 */
function newerFormat(text: string): RegistryError | undefined {
  let raw: unknown;
  try {
    raw = safeJsonParse(text);
  } catch {
    return undefined;
  }
  const { format, id } = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const theirs = typeof format === 'string' ? FORMAT.exec(format)?.[1] : undefined;
  const ours = FORMAT.exec(RECORD_FORMAT)?.[1];
  if (theirs === undefined || ours === undefined || Number(theirs) <= Number(ours))
    return undefined;
  return new RegistryError(
    'MIGRATION_FAILED',
    `Instance ${JSON.stringify(id)} is stored in record format ${format}, written by a newer xstate-registry than this process runs (${RECORD_FORMAT}); it is left untouched for a process that runs the newer version.`,
    {
      details: {
        ...(typeof id === 'string' ? { id } : {}),
        format: String(format),
        leftForAnotherProcess: true,
      },
    },
  );
}
