import { RegistryError } from './errors.js';
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

/**
 * Whether a wait in a cluster watches the stored status rather than an
 * instance here: the instance is hosted elsewhere, already given back, or
 * finished here without meeting the wait (it is about to be given back).
 */
async function elsewhereToWatch(
  parts: RegistryParts,
  instance: Instance | undefined,
  here: boolean,
  test: (status: InstanceStatus) => boolean,
  limits: Parameters<typeof bounded>[2],
): Promise<boolean> {
  if (!here || !instance) return true;
  if (instance.status === 'running' || instance.passive || test(statusOf(instance))) return false;
  // The stored status must not be older than the one here. A final record
  // that cannot be written keeps the instance here, watched as it is.
  return bounded(
    parts.persister.durable(instance).then(
      () => true,
      () => false,
    ),
    instance.id,
    limits,
  );
}

/**
 * The answer for a finished instance in a cluster, on a store that cannot
 * watch it: its stored status if that is what the caller waits for. It
 * never changes here, so any other wait fails now instead of hanging.
 */
function finishedElsewhere(
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
  const limits = { clock: parts.clock, deadline, signal: options.signal };
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
  if (parts.cluster && (await elsewhereToWatch(parts, instance, here, test, limits))) {
    // Hosted by another process, or finished: finished instances are nobody's,
    // so one adopted here for this call is given back at once, and another
    // process may replace it. Its stored status is the one to watch.
    if (parts.remote) {
      const watched = bounded(
        watchStored(id, (done) => elsewhere(parts, id, done, limits), test, {
          ...limits,
          type: options.type,
        }),
        id,
        limits,
      );
      // Counted in stats().waiters until it ends for the caller (a read the
      // store still holds may outlive it).
      return parts.remote.waits(watched);
    }
    // A cluster store without an inbox reads the record but cannot learn
    // when another process changes it.
    const status = await bounded(parts.cluster.remoteStatus(id), id, limits);
    return finishedElsewhere(id, status, test, options.type);
  }
  if (!instance) {
    throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to wait for.`, {
      details: { id },
    });
  }
  if (options.type !== undefined) assertType(id, instance.type, options.type);
  return watchInstance(instance, test, {
    clock: parts.clock,
    deadline,
    signal: options.signal,
    gate: parts.gate,
  });
}
