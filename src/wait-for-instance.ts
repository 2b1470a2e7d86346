import { RegistryError } from './errors.js';
import { assertInstanceId } from './instance-id.js';
import { assertType, elsewhere, machineOf, type RegistryParts, reach } from './registry-parts.js';
import type { InstanceStatus } from './status.js';
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
  // A passivated instance changes only while live: activate it to watch it.
  if (parts.instances.get(id)?.passive || (parts.cluster && !parts.instances.has(id))) {
    // Claiming, activating and reading go to the store, which may block: the
    // wait's own deadline and signal still end it.
    const limits = { clock: parts.clock, deadline, signal: options.signal };
    // Hosted by another process: watched through its stored status.
    const here = await bounded(
      parts.gate.exclusive(id, () => reach(parts, id)),
      id,
      limits,
    );
    // Or adopted finished, and already given back (finished instances are
    // nobody's): its stored status is the one to watch.
    if (!here || (parts.remote && !parts.instances.has(id))) {
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
      return parts.remote ? parts.remote.waits(watched) : watched;
    }
  }
  const instance = parts.instances.get(id);
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
