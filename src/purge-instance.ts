import { RegistryError } from './errors.js';
import { assertInstanceId } from './instance-id.js';
import { elsewhere, type RegistryParts, reach } from './registry-parts.js';

/**
 * `registry.purge`: under the ID's lock, forgets a finished instance entirely,
 * in memory and in the store, and tells its watchers; a running one only with
 * `{ force: true }`. A running instance another process hosts is sent the
 * purge through the inbox, and the call answers once its owner has done it.
 *
 * @example
 * ```ts
 * await purgeInstance(parts, 'nightly', { force: true });
 * ```
 */
export async function purgeInstance(
  parts: RegistryParts,
  id: string,
  options: { force?: boolean } = {},
): Promise<void> {
  assertInstanceId(id);
  if (
    options === null ||
    typeof options !== 'object' ||
    (options.force !== undefined && typeof options.force !== 'boolean')
  )
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'purge() takes an ID and, optionally, { force: true } to purge a running instance.',
    );
  await parts.gate.ready();
  for (;;) {
    const outcome = await parts.gate.exclusive(id, async () => {
      parts.gate.assertOpen();
      if (await reach(parts, id, true)) {
        await purgeHere(parts, id, options.force === true);
        return 'done';
      }
      const there = await parts.cluster?.remoteStatus(id);
      // No record anywhere (a claim whose first record never came, or gone
      // meanwhile): nothing to purge, as getStatus says. Retrying looped for ever.
      if (there === undefined)
        throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to purge.`, {
          details: { id },
        });
      // Finished there, its lease given back in a moment: then it is nobody's.
      if (there.status !== 'running') return 'retry';
      if (!options.force) throw running(id);
      await parts.remote?.post(id, { kind: 'purge' });
      return 'posted';
    });
    if (outcome === 'done') return;
    if (outcome === 'posted') {
      await elsewhere(parts, id, (s) => s === undefined, { bounded: 'purge' });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `purge` of an instance this process holds; the caller holds the ID's lock.
 *
 * @example
 * ```ts
 * await parts.gate.exclusive(id, () => purgeHere(parts, id, true));
 * ```
 */
export async function purgeHere(parts: RegistryParts, id: string, force: boolean): Promise<void> {
  const instance = parts.instances.get(id);
  if (!instance)
    throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to purge.`, {
      details: { id },
    });
  if (instance.status === 'running' && !force) throw running(id);
  // Out of memory only once the store has deleted it (or fenced it: another
  // process owns it now), in the same step: a failed delete leaves it as it
  // was, running or not, for the caller to retry.
  await parts.persister.remove(instance, (lost) => {
    try {
      if (instance.status === 'running') parts.actors.detach(instance, false);
    } finally {
      parts.instances.drop(instance, lost);
    }
  });
  parts.watchers.gone(
    id,
    new RegistryError('INSTANCE_NOT_FOUND', `Instance '${id}' was purged.`, {
      details: { id },
    }),
  );
  parts.emitter.emit('purged', { id, type: instance.type });
}

function running(id: string): RegistryError {
  return new RegistryError(
    'INSTANCE_RUNNING',
    `Instance '${id}' is running; stop it first or purge with { force: true }.`,
    { details: { id } },
  );
}
