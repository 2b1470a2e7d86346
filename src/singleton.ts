import type { AnyActor } from 'xstate';
import { RegistryError } from './errors.js';
import { Instance } from './instance.js';
import { assertInstanceId } from './instance-id.js';
import type { ResolvedMachine } from './machines.js';
import { bringHere, machineOf, type RegistryParts, whenDurable } from './registry-parts.js';

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
}

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
    if (p.passivation) existing.lastActive = p.clock.now();
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
  id: string,
  options: EnsureOptions,
  existing: Instance | undefined,
): EnsureResult | Promise<EnsureResult> {
  if (!existing) assertInstanceId(id);
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
  const run = () => ensureNow(p, def, id, options.input, ifRunning, ifFinished);
  if (
    p.gate.phase === 'open' &&
    !p.gate.locks.isLocked(id) &&
    !existing?.passive &&
    (existing || !p.cluster)
  ) {
    return run();
  }
  return p.gate.ready().then(() =>
    p.gate.exclusive(id, async () => {
      await bringHere(p, id, true);
      return run();
    }),
  );
}

function ensureNow(
  p: RegistryParts,
  def: ResolvedMachine,
  id: string,
  input: unknown,
  ifRunning: 'return' | 'throw',
  ifFinished: 'return' | 'replace' | 'throw',
): EnsureResult | Promise<EnsureResult> {
  p.gate.assertOpen();
  const type = def.type;
  const existing = p.instances.get(id);
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
      existing.lastActive = p.clock.now();
      const actor = p.actors.materialize(existing);
      return whenDurable(p, existing, () => ({ actor, created: false, instance: existing }));
    }
    // 'replace': the new record overwrites the old one; admitting the new instance
    // drops the old one, and its pending writes with it.
  }
  const instance = new Instance(id, def, p.clock.now());
  p.instances.admit(instance);
  const actor = p.actors.host(instance, { input });
  p.emitter.emit('spawned', { id, type, actor, replaced: existing !== undefined });
  return whenDurable(p, instance, () => ({ actor, created: true, instance }));
}
