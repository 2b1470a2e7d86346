import { RegistryError } from './errors.js';
import type { Instance } from './instance.js';
import { assertInstanceId } from './instance-id.js';
import { assertType, elsewhere, type RegistryParts, reach, whenDurable } from './registry-parts.js';
import { type InstanceStatus, statusOf } from './status.js';

/**
 * `registry.stop`: under the ID's lock, brings the instance here, stops its
 * actor and records it as `stopped`. Stopping a finished instance does nothing.
 * An instance another process hosts is sent the stop through the inbox, and
 * the call answers once its owner has recorded it.
 *
 * @example
 * ```ts
 * const status = await stopInstance(parts, 'nightly', 'cancelled by admin');
 * ```
 */
export async function stopInstance(
  parts: RegistryParts,
  id: string,
  reason?: string,
  type?: string,
): Promise<InstanceStatus> {
  assertInstanceId(id);
  // Checked here, not at write: a record with another kind of reason is one its
  // own loader refuses, so the stopped instance would be set aside at the next start.
  if (reason !== undefined && typeof reason !== 'string')
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `A stop reason must be a string, not ${reason === null ? 'null' : typeof reason}: pass a string, or leave it out.`,
      { details: { id } },
    );
  await parts.gate.ready();
  const here = await parts.gate.exclusive(id, async () => {
    parts.gate.assertOpen();
    if (await reach(parts, id)) {
      const instance = parts.instances.get(id);
      if (type !== undefined && instance) assertType(id, instance.type, type);
      return stopHere(parts, id, reason);
    }
    await parts.remote?.post(id, { kind: 'stop', reason });
    return undefined;
  });
  if (here) return here;
  // Mailed to its owner: answer once the stop (or another ending) is recorded.
  const status = await elsewhere(parts, id, (s) => s === undefined || s.status !== 'running', {
    bounded: 'stop',
  });
  if (!status)
    throw new RegistryError('INSTANCE_NOT_FOUND', `Instance '${id}' was purged meanwhile.`, {
      details: { id },
    });
  return status;
}

/**
 * `stop` of an instance this process holds; the caller holds the ID's lock.
 *
 * @example
 * ```ts
 * await parts.gate.exclusive(id, () => stopHere(parts, id, 'cancelled'));
 * ```
 */
export function stopHere(
  parts: RegistryParts,
  id: string,
  reason: string | undefined,
): InstanceStatus | Promise<InstanceStatus> {
  const instance = parts.instances.get(id);
  if (!instance)
    throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to stop.`, {
      details: { id },
    });
  // Finished already: a strict caller still learns whether its end is stored.
  if (instance.status !== 'running') return whenDurable(parts, instance, () => statusOf(instance));
  assertStoppable(parts, instance, reason);
  parts.actors.detach(instance, false);
  parts.instances.finish(instance, 'stopped', { stopReason: reason });
  parts.emitter.emit('stopped', { id, type: instance.type, reason });
  return whenDurable(parts, instance, () => statusOf(instance));
}

/** The refusals of {@link assertStoppable}: a stop that stopped nothing. */
const refusals = new WeakSet<object>();

/**
 * Whether `err` is a stop refused before it stopped anything (its final record
 * could not be stored): the instance runs on, unlike a stop whose write failed.
 *
 * @example
 * ```ts
 * try { await stopHere(parts, id, reason); } catch (err) { if (!isStopRefusal(err)) throw err; }
 * ```
 */
export function isStopRefusal(err: unknown): err is RegistryError {
  return typeof err === 'object' && err !== null && refusals.has(err);
}

/**
 * Refuses a stop whose final record the store would refuse (over
 * `maxRecordBytes`, or not serializable), before anything stops: stopped in
 * memory but running in the store, the instance would run again after a restart.
 */
function assertStoppable(
  parts: RegistryParts,
  instance: Instance,
  reason: string | undefined,
): void {
  const now = parts.clock.now();
  try {
    parts.persister.encode(instance, { stopReason: reason, updatedAt: now });
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    // Without the reason too? Then the state itself cannot be stored, and no reason helps.
    let reasonFits = false;
    if (reason !== undefined) {
      try {
        parts.persister.encode(instance, { stopReason: undefined, updatedAt: now });
        reasonFits = true;
      } catch {}
    }
    const refusal = new RegistryError(
      err.code,
      `${err.message} The instance was not stopped and runs on: ${
        reasonFits
          ? 'stop it with a shorter reason'
          : 'its state cannot be stored as it is, so remove it with purge(id, { force: true })'
      }.`,
      { cause: err, details: err.details as never },
    );
    refusals.add(refusal);
    throw refusal;
  }
}
