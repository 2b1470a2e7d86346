import { RegistryError } from './errors.js';
import { assertInstanceId } from './instance-id.js';
import { bringHere, type RegistryParts, whenDurable } from './registry-parts.js';
import { type InstanceStatus, statusOf } from './status.js';

/**
 * `registry.stop`: under the ID's lock, brings the instance here, stops its
 * actor and records it as `stopped`. Stopping a finished instance does nothing.
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
): Promise<InstanceStatus> {
  assertInstanceId(id);
  await parts.gate.ready();
  return parts.gate.exclusive(id, async () => {
    parts.gate.assertOpen();
    await bringHere(parts, id, false);
    const instance = parts.instances.get(id);
    if (!instance)
      throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${id}' to stop.`, {
        details: { id },
      });
    if (instance.status !== 'running') return statusOf(instance);
    parts.actors.detach(instance, false);
    parts.instances.finish(instance, 'stopped', { stopReason: reason });
    parts.emitter.emit('stopped', { id, type: instance.type, reason });
    return whenDurable(parts, instance, () => statusOf(instance));
  });
}
