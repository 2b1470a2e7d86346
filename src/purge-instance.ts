import { RegistryError } from './errors.js';
import { assertInstanceId } from './instance-id.js';
import type { RegistryParts } from './registry-parts.js';

/**
 * `registry.purge`: under the ID's lock, forgets a finished instance entirely,
 * in memory and in the store, and tells its watchers; a running one only with
 * `{ force: true }`.
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
  await parts.gate.ready();
  return parts.gate.exclusive(id, async () => {
    parts.gate.assertOpen();
    await parts.cluster?.adopt(id, false);
    const instance = parts.instances.get(id);
    if (!instance)
      throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to purge.`, {
        details: { id },
      });
    if (instance.status === 'running') {
      if (!options.force)
        throw new RegistryError(
          'INSTANCE_RUNNING',
          `Instance '${id}' is running; stop it first or purge with { force: true }.`,
          { details: { id } },
        );
      parts.actors.detach(instance, false);
    }
    // Purged here, or fenced by the store (another process owns it now): gone from this process either way.
    parts.instances.drop(instance);
    await parts.persister.remove(instance);
    parts.watchers.gone(
      id,
      new RegistryError('INSTANCE_NOT_FOUND', `Instance '${id}' was purged.`, {
        details: { id },
      }),
    );
    parts.emitter.emit('purged', { id, type: instance.type });
  });
}
