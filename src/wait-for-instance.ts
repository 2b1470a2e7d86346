import { isRegistryError, RegistryError } from './errors.js';
import type { Instance } from './instance.js';
import { assertInstanceId } from './instance-id.js';
import { assertType, elsewhere, machineOf, type RegistryParts, reach } from './registry-parts.js';
import { type InstanceStatus, statusOf } from './status.js';
import {
  assertSignal,
  bounded,
  deadlineOf,
  toPredicate,
  type WaitCondition,
  watchInstance,
  watchStored,
} from './wait-for.js';

type Limits = Parameters<typeof bounded>[2];

/**
 * Whether a wait in a cluster watches the stored row rather than an instance
 * here: the instance is hosted elsewhere, already gone from here (given back,
 * taken over), or finished here without meeting the wait (it is about to be
 * given back, and another process may replace it).
 */
async function rowToWatch(
  parts: RegistryParts,
  instance: Instance | undefined,
  here: boolean,
  test: (status: InstanceStatus) => boolean,
  limits: Limits,
): Promise<boolean> {
  if (!here || !instance || instance.gone) return true;
  if (instance.status === 'running' || instance.passive || test(statusOf(instance))) return false;
  // The row must not be older than the copy here. A final record that cannot
  // be written keeps the copy here, watched as it is, unless the failure took
  // it away (fenced: another process owns the row now).
  return bounded(
    parts.persister.durable(instance).then(
      () => true,
      () => instance.gone,
    ),
    instance.id,
    limits,
  );
}

/**
 * A wait on the stored row of `id`: read again until `test` holds where the
 * store has an inbox (whose notices say when to read), or read once where it
 * has none (see {@link answerFromRow}).
 */
async function watchRow(
  parts: RegistryParts,
  id: string,
  test: (status: InstanceStatus) => boolean,
  limits: Limits,
  type: string | undefined,
): Promise<InstanceStatus> {
  const { cluster, remote } = parts;
  if (remote) {
    const watched = bounded(
      watchStored(id, (done) => elsewhere(parts, id, done, limits), test, { ...limits, type }),
      id,
      limits,
    );
    // Counted in stats().waiters until it ends for the caller (a read the
    // store still holds may outlive it).
    return remote.waits(watched);
  }
  let status: InstanceStatus | undefined;
  try {
    status = cluster ? await bounded(cluster.remoteStatus(id), id, limits) : undefined;
  } catch (err) {
    // A store closed under the read: the registry's close is the answer.
    parts.gate.assertOpen();
    throw err;
  }
  try {
    return answerFromRow(id, status, test, type);
  } catch (err) {
    // Read while the registry closed: a wait the row does not meet ends with
    // the close, as a wait here does (one the row meets resolves, as there).
    parts.gate.assertOpen();
    throw err;
  }
}

/**
 * The answer from a row, on a cluster store without an inbox, which cannot
 * learn when another process changes it: the stored status if the caller
 * waits for it; any other wait fails now instead of hanging.
 */
function answerFromRow(
  id: string,
  status: InstanceStatus | undefined,
  test: (status: InstanceStatus) => boolean,
  type: string | undefined,
): InstanceStatus {
  if (!status) {
    throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to wait for.`, {
      details: { id },
    });
  }
  if (type !== undefined) assertType(id, status.type, type);
  if (test(status)) return status;
  if (status.status === 'running') {
    throw new RegistryError(
      'OWNED_ELSEWHERE',
      `Instance '${id}' runs in another process, and this store has no inbox to watch it from here: wait in the process that hosts it, or use a store with an inbox.`,
      { details: { id } },
    );
  }
  throw new RegistryError(
    'INSTANCE_NOT_RUNNING',
    `Instance '${id}' has finished (${status.status}). In a cluster a finished instance is nobody's, and this store has no inbox to learn when another process replaces it: wait for its finished status, or use a store with an inbox.`,
    { details: { id, status: status.status } },
  );
}

/**
 * `registry.waitFor`: resolves with the status of `id` once it matches
 * `condition`, activating or adopting the instance first so that it can
 * change; rejects with `TIMEOUT`, `ABORTED`, `REGISTRY_CLOSED` or
 * `TYPE_MISMATCH` (see `watchInstance`).
 *
 * @example
 * ```ts
 * const status = await waitForInstance(parts, 'nightly', 'done', { timeoutMs: 60_000 });
 * ```
 */
export async function waitForInstance(
  parts: RegistryParts,
  id: string,
  condition: WaitCondition<any>,
  options: { timeoutMs?: number; signal?: AbortSignal; type?: string },
): Promise<InstanceStatus> {
  assertInstanceId(id);
  if (options.type !== undefined) machineOf(parts.machines, options.type);
  const test = toPredicate(condition);
  // The timeout counts from the call, not from when the registry got round to it.
  const deadline = deadlineOf(parts.clock, options.timeoutMs);
  assertSignal(options.signal);
  await parts.gate.ready();
  // Claiming, activating and reading go to the store, which may block: the
  // wait's own deadline and signal still end it.
  const limits: Limits = { clock: parts.clock, deadline, signal: options.signal };
  let here = true;
  // A passivated instance changes only while live: activate it to watch it.
  if (parts.instances.get(id)?.passive || (parts.cluster && !parts.instances.has(id))) {
    here = await bounded(
      parts.gate.exclusive(id, () => reach(parts, id)),
      id,
      limits,
    );
  }
  // Taken now: in a cluster, a finished instance may be given back meanwhile.
  const instance = parts.instances.get(id);
  if (parts.cluster && (await rowToWatch(parts, instance, here, test, limits))) {
    return watchRow(parts, id, test, limits, options.type);
  }
  if (!instance) {
    throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to wait for.`, {
      details: { id },
    });
  }
  if (options.type !== undefined) assertType(id, instance.type, options.type);
  return watchHere(parts, instance, test, limits, options.type);
}

/**
 * A wait on the copy here. A replaced instance's wait follows the new one. In
 * a cluster the copy also goes when it finishes (given back: finished
 * instances are nobody's) or is taken over; the wait then follows what took
 * its place: a new copy here, or the row.
 */
function watchHere(
  parts: RegistryParts,
  instance: Instance,
  test: (status: InstanceStatus) => boolean,
  limits: Limits,
  type: string | undefined,
): Promise<InstanceStatus> {
  const local = watchInstance(instance, test, { ...limits, gate: parts.gate });
  const id = instance.id;
  return local.catch(async (err: unknown) => {
    if (!instance.gone || !isRegistryError(err, 'INSTANCE_NOT_FOUND')) throw err;
    if (!parts.cluster) {
      // Replaced (`ifFinished: 'replace'`): the new instance is in the table by
      // now, admitted in the step that dropped this one. Purged: nothing is.
      const next = parts.instances.get(id);
      if (!next || next.gone) throw err;
      if (type !== undefined) assertType(id, next.type, type);
      return watchHere(parts, next, test, limits, type);
    }
    // What took the copy away (a purge, a give-back, a replacement) holds the
    // ID's lock until the store has caught up with it: the row read after it
    // is not the one it was about to delete or overwrite.
    await bounded(
      parts.gate.exclusive(id, async () => {}),
      id,
      limits,
    );
    const next = parts.instances.get(id);
    if (next && !next.gone) {
      if (type !== undefined) assertType(id, next.type, type);
      return watchHere(parts, next, test, limits, type);
    }
    return watchRow(parts, id, test, limits, type);
  });
}
