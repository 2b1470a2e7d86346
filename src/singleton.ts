import type { AnyActor } from 'xstate';
import { isRegistryError, RegistryError } from './errors.js';
import { HistoryLog } from './history.js';
import { decodeRecord, instanceFromRecord } from './hydration.js';
import { Instance } from './instance.js';
import { type InstanceId, toInstanceId } from './instance-id.js';
import type { ResolvedMachine } from './machines.js';
import {
  bringHere,
  machineOf,
  type RegistryParts,
  type RemoteCalls,
  whenDurable,
} from './registry-parts.js';
import type { RecordMeta } from './stores/store.js';
import { startRunsNothing } from './xstate-internals/actor-hooks.js';

/**
 * What a check-and-create resolves to: the actor, whether this call created it, and its instance.
 *
 * @example
 * ```ts
 * const { actor, created } = await ensureSlowly(parts, 'job', 'nightly', {});
 * ```
 */
export interface EnsureResult {
  actor: AnyActor;
  created: boolean;
  instance: Instance;
  /** Hosted by another process: `actor` is a stopped stand-in, for the registry to forward sends from. */
  elsewhere?: true;
}

/**
 * How long a call waits for the first record of an instance another process
 * claimed and is creating (its start runs actions, so the record follows the
 * claim): a creation takes milliseconds; an owner that died meanwhile leaves a
 * lease that expires, and the call after the wait can claim the ID.
 */
const CREATING_WAIT_MS = 2000;

/** The options `spawnSingleton` and `ensureSingleton` take, as this module reads them. */
export interface EnsureOptions {
  input?: unknown;
  ifRunning?: 'return' | 'throw';
  ifFinished?: 'return' | 'replace' | 'throw';
}

/**
 * Check-and-create. Everything between the check and the creation is
 * synchronous, so it is atomic on Node's event loop; an ID with an operation
 * in flight (a purge awaiting the store) queues behind it on the ID's lock.
 *
 * @example
 * ```ts
 * const r = await ensure(parts, 'job', 'nightly', { input: { day } });
 * ```
 */
export function ensure(
  p: RegistryParts,
  type: string,
  id: string,
  options: EnsureOptions,
): EnsureResult | Promise<EnsureResult> {
  const existing = p.instances.get(id);
  // Fast path: the live instance, nothing in flight for it.
  if (
    existing?.actor &&
    existing.status === 'running' &&
    existing.type === type &&
    p.gate.phase === 'open' &&
    (options.ifRunning === undefined || options.ifRunning === 'return') &&
    !p.gate.locks.isLocked(id) &&
    (p.durability === 'relaxed' || existing.durable >= existing.version)
  ) {
    // Activity for passivation, like every other use (a number store: no allocation).
    p.passivation?.touch(existing);
    return { actor: existing.actor, created: false, instance: existing };
  }
  return ensureSlowly(p, type, id, options, existing);
}

/**
 * The check-and-create behind `spawnSingleton`, past the registry's fast path
 * (the live instance returned at once). Everything between the check and the
 * creation is synchronous, so it is atomic on Node's event loop; an ID with an
 * operation in flight (a purge awaiting the store), a passive instance or one
 * another process may hold is handled under the ID's lock.
 *
 * @example
 * ```ts
 * const r = ensureSlowly(parts, 'job', 'nightly', { ifFinished: 'replace' }, parts.instances.get('nightly'));
 * ```
 */
export function ensureSlowly(
  p: RegistryParts,
  type: string,
  rawId: string,
  options: EnsureOptions,
  existing: Instance | undefined,
): EnsureResult | Promise<EnsureResult> {
  // Checked at this boundary, unless it names an instance already (checked when that was made).
  const id = existing ? existing.id : toInstanceId(rawId);
  const def = machineOf(p.machines, type);
  const ifRunning = options.ifRunning ?? 'return';
  const ifFinished = options.ifFinished ?? 'return';
  if (ifRunning !== 'return' && ifRunning !== 'throw') {
    throw new RegistryError('INVALID_ARGUMENT', "ifRunning must be 'return' or 'throw'.");
  }
  if (ifFinished !== 'return' && ifFinished !== 'replace' && ifFinished !== 'throw') {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      "ifFinished must be 'return', 'replace' or 'throw'.",
    );
  }
  if (
    p.gate.phase === 'open' &&
    !p.gate.locks.isLocked(id) &&
    !existing?.passive &&
    (existing || !p.cluster)
  ) {
    // Every new ID passes here: no closure for the slow path below, and the
    // instance looked up just now, synchronously, is still the one under `id`.
    return ensureNow(p, def, id, options.input, ifRunning, ifFinished, existing);
  }
  const run = () =>
    ensureNow(p, def, id, options.input, ifRunning, ifFinished, p.instances.get(id));
  return p.gate.ready().then(async () => {
    // Whether this call already waited for an instance being created elsewhere.
    let waited = false;
    for (let attempt = 0; ; attempt++) {
      const r = await p.gate.exclusive(id, async () => {
        p.gate.assertOpen();
        const first =
          p.cluster && !p.instances.has(id) ? encodeFirst(p, def, id, options.input) : undefined;
        let brought: Awaited<ReturnType<typeof bringHere>>;
        try {
          brought = await bringHere(p, id, true, first?.record);
        } catch (err) {
          if (!p.remote || !isRegistryError(err, 'OWNED_ELSEWHERE') || attempt >= 20) throw err;
          return hostedElsewhere(p, p.remote, def, id, ifRunning, waited ? err : undefined);
        }
        if (brought === 'created' && first) return startStored(p, first);
        return run();
      });
      if (r === 'retry') {
        // Finishing there: nobody's a moment later.
        await new Promise((resolve) => setTimeout(resolve, 50));
      } else if ('landed' in r) {
        // Being created there: woken when its first record lands (not holding the ID's lock).
        await r.landed;
        waited = true;
      } else {
        return r;
      }
    }
  });
}

/**
 * `spawnSingleton` on an instance another live process hosts: it stays there.
 * The caller gets a stopped stand-in holding its last durable state (`actor.id
 * === id`), marked `elsewhere` so that the registry forwards its sends to the
 * owner; the handle, `registry.actor(type, id)`, reaches it for everything else.
 */
async function hostedElsewhere(
  p: RegistryParts,
  remote: RemoteCalls,
  def: ResolvedMachine,
  id: string,
  ifRunning: 'return' | 'throw',
  /** The refusal, once this call has waited for the record already: thrown if there is still none. */
  refusal: Error | undefined,
): Promise<EnsureResult | 'retry' | { landed: Promise<void> }> {
  // Listening before the read, so that a record landing in between is not missed.
  const watch = refusal ? undefined : remote.recordLanded(id, CREATING_WAIT_MS);
  let text: string | undefined;
  try {
    text = await p.store.read(id);
  } catch (err) {
    watch?.cancel();
    throw err;
  }
  if (text !== undefined) watch?.cancel();
  // No record yet (being created there): wait for the owner's notification
  // that it landed, at most CREATING_WAIT_MS, then ask once more; after that, OWNED_ELSEWHERE.
  if (text === undefined) {
    if (refusal || !watch) throw refusal;
    return { landed: watch.landed };
  }
  const decoded = decodeRecord(text, p.machines);
  const loaded = instanceFromRecord(decoded);
  if (loaded.type !== def.type) {
    throw new RegistryError(
      'TYPE_MISMATCH',
      `Instance '${id}' exists with type '${loaded.type}', not '${def.type}'; use another ID or purge it first.`,
      { details: { id, type: def.type, existingType: loaded.type } },
    );
  }
  // Finishing there (its final write frees the lease): ask again in a moment.
  if (loaded.status !== 'running') return 'retry';
  if (ifRunning === 'throw') {
    throw new RegistryError(
      'INSTANCE_EXISTS',
      `Instance '${id}' already exists (status 'running').`,
      {
        details: { id, status: loaded.status },
      },
    );
  }
  // Never admitted here: a detached copy, its last state kept as loaded.
  const instance = new Instance(loaded.id, def, loaded.createdAt, {
    status: 'running',
    frozen: { snapshot: decoded.snapshot, timers: [] },
  });
  instance.updatedAt = loaded.updatedAt;
  const actor = p.actors.materialize(instance);
  // Until the registry sets up forwarding, an event sent to it is reported, never silently dropped.
  p.actors.orphan(id, actor);
  return { actor, created: false, instance, elsewhere: true };
}

function ensureNow(
  p: RegistryParts,
  def: ResolvedMachine,
  id: InstanceId,
  input: unknown,
  ifRunning: 'return' | 'throw',
  ifFinished: 'return' | 'replace' | 'throw',
  /** `p.instances.get(id)`, looked up by the caller in the same synchronous run. */
  existing: Instance | undefined,
): EnsureResult | Promise<EnsureResult> {
  p.gate.assertOpen();
  const type = def.type;
  if (existing) {
    if (existing.type !== type) {
      throw new RegistryError(
        'TYPE_MISMATCH',
        `Instance '${id}' exists with type '${existing.type}', not '${type}'; use another ID or purge it first.`,
        { details: { id, type, existingType: existing.type } },
      );
    }
    const policy = existing.status === 'running' ? ifRunning : ifFinished;
    if (policy === 'throw') {
      throw new RegistryError(
        'INSTANCE_EXISTS',
        `Instance '${id}' already exists (status '${existing.status}').`,
        { details: { id, status: existing.status } },
      );
    }
    if (policy === 'return') {
      if (p.passivation) p.passivation.touch(existing);
      else existing.lastActive = p.clock.now();
      const actor = p.actors.materialize(existing);
      return whenDurable(p, existing, () => ({ actor, created: false, instance: existing }));
    }
    // 'replace': the new record overwrites the old one; admitting the new instance
    // drops the old one, and its pending writes with it.
  } else if (!p.cluster) {
    // A cluster store's claim reads the row first, so only a local store could be written over.
    const key = p.instances.leftInPlace(id, p.store);
    if (key !== undefined) throw leftInPlace(id, key);
  }
  const instance = new Instance(id, def, p.clock.now());
  // A replacement's journal is its own, but its seq goes on from the last one's:
  // a history cursor held across the replacement still pages on.
  const before = existing?.history;
  if (before) instance.history = new HistoryLog({ seq: before.seq, entries: [] });
  p.instances.admit(instance);
  const actor = p.actors.host(instance, { input });
  p.passivation?.wake();
  // Every new ID passes here: no event object when nobody listens, no closure when relaxed.
  if (p.emitter.has('spawned'))
    p.emitter.emit('spawned', { id, type, actor, replaced: existing !== undefined });
  const created: EnsureResult = { actor, created: true, instance };
  return p.durability === 'strict' ? whenDurable(p, instance, () => created) : created;
}

function leftInPlace(id: string, key: string): RegistryError {
  return new RegistryError(
    'QUARANTINE_FAILED',
    `Instance '${id}' has a stored record ('${key}') that could be neither loaded nor moved aside; it was left in place, and no new instance is written over it. Repair the record or move it out of the store, then start the registry again.`,
    { details: { key, id } },
  );
}

interface First {
  instance: Instance;
  actor: AnyActor;
  record: { text: string; meta: RecordMeta };
}

/**
 * A new instance and its actor, created but not started, with the record it
 * will have once started, so that a cluster store can store it with the claim
 * (one commit). Only when starting it runs nothing (no entry action, delayed
 * event or child to start): an actor whose start does something is started
 * only after its claim, and its first record written after that, as before.
 */
function encodeFirst(
  p: RegistryParts,
  def: ResolvedMachine,
  id: InstanceId,
  input: unknown,
): First | undefined {
  const instance = new Instance(id, def, p.clock.now());
  const actor = p.actors.create(instance, { input });
  if (!startRunsNothing(actor) || (actor.getSnapshot() as { status: string }).status !== 'active')
    return undefined;
  try {
    return { instance, actor, record: p.persister.encode(instance) };
  } catch {
    return undefined; // the ordinary path reports why it cannot be stored
  }
}

/** Admits and starts an instance whose first record its claim stored. */
function startStored(
  p: RegistryParts,
  { instance, actor }: First,
): EnsureResult | Promise<EnsureResult> {
  p.instances.admit(instance);
  const version = instance.version;
  p.actors.start(instance, actor, true);
  p.passivation?.wake();
  // start() ran nothing, so the stored record is the state: nothing to write,
  // unless something told of the start (a handle's watcher) changed it since.
  if (instance.status === 'running' && instance.version === version + 1) {
    instance.updatedAt = instance.createdAt;
    instance.durable = instance.version;
  }
  p.emitter.emit('spawned', { id: instance.id, type: instance.type, actor, replaced: false });
  return whenDurable(p, instance, () => ({ actor, created: true, instance }));
}
