import type { AnyEventObject } from 'xstate';
import type { Delivery } from './delivery.js';
import { isEvent, isReservedEventType } from './event-shape.js';
import { sendFrom } from './event-source.js';
import type { RegistryParts } from './registry-parts.js';
import type { TelemetryHook } from './telemetry-hook.js';

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * `registry.send`: the fast path (relaxed durability, no idempotency key, the
 * instance live here and nothing in flight for its ID) delivers at once;
 * everything else goes through {@link Delivery}.
 *
 * @example
 * ```ts
 * await sendEvent(parts, delivery, 'order-7', { type: 'PAY' }, { idempotencyKey: 'request-42' });
 * ```
 */
export function sendEvent(
  parts: RegistryParts,
  delivery: Delivery,
  id: string,
  event: AnyEventObject,
  options?: { idempotencyKey?: string; type?: string },
): Promise<void> {
  // Fast path (relaxed durability, nothing in flight for the ID): deliver now.
  const instance = parts.instances.get(id);
  if (
    (options == null ||
      (options.idempotencyKey === undefined &&
        (options.type === undefined || options.type === instance?.type))) &&
    instance?.actor &&
    instance.status === 'running' &&
    parts.gate.phase === 'open' &&
    parts.durability === 'relaxed' &&
    isEvent(event) &&
    (parts.allowReserved || !isReservedEventType(event.type)) &&
    !parts.gate.locks.isLocked(id)
  ) {
    parts.passivation?.touch(instance);
    if (instance.def.history) sendFrom(instance.actor, event, 'api');
    else instance.actor.send(event);
    return RESOLVED;
  }
  return delivery.send(id, event, options?.idempotencyKey, options?.type);
}

/**
 * {@link sendEvent} in a `send` span when telemetry is on (the instance's type
 * is looked up only then).
 *
 * @example
 * ```ts
 * await sendTraced(parts, delivery, telemetry, 'order-7', { type: 'PAY' });
 * ```
 */
export function sendTraced(
  parts: RegistryParts,
  delivery: Delivery,
  telemetry: TelemetryHook,
  id: string,
  event: AnyEventObject,
  options?: { idempotencyKey?: string; type?: string },
): Promise<void> {
  if (!telemetry.active) return sendEvent(parts, delivery, id, event, options);
  const type = parts.instances.get(id)?.type;
  return telemetry.span('send', id, type, () => sendEvent(parts, delivery, id, event, options));
}
