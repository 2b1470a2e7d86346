import type { AnyEventObject } from 'xstate';
import { RegistryError } from './errors.js';

/**
 * Whether `event` is something an actor can take: an object with a non-empty string `type`.
 *
 * @example
 * ```ts
 * isEvent({ type: 'APPROVE' }); // true
 * isEvent('APPROVE');           // false
 * ```
 */
export function isEvent(event: unknown): event is AnyEventObject {
  return (
    typeof event === 'object' &&
    event !== null &&
    !Array.isArray(event) &&
    typeof (event as { type?: unknown }).type === 'string' &&
    (event as { type: string }).type !== ''
  );
}

/** Throws `INVALID_EVENT` unless {@link isEvent}. */
export function assertEvent(event: unknown): asserts event is AnyEventObject {
  if (!isEvent(event)) {
    throw new RegistryError(
      'INVALID_EVENT',
      'An event must be an object with a non-empty string `type`, e.g. { type: "APPROVE" }.',
      {
        details: {
          received: event === null ? 'null' : Array.isArray(event) ? 'array' : typeof event,
        },
      },
    );
  }
}

/**
 * Whether `type` is one of XState's own event types (`xstate.stop`,
 * `xstate.after.*`, `xstate.done.*`, `xstate.error.*`...): sent from outside,
 * they would stop an actor, skip a timer or forge a child's failure.
 *
 * @example
 * ```ts
 * isReservedEventType('xstate.stop'); // true
 * isReservedEventType('APPROVE');     // false
 * ```
 */
export function isReservedEventType(type: string): boolean {
  return type.startsWith('xstate.');
}

/**
 * Throws `RESERVED_EVENT` for an event whose type XState reserves for itself.
 *
 * @example
 * ```ts
 * assertNotReserved({ type: 'xstate.stop' }); // throws RegistryError RESERVED_EVENT
 * ```
 */
export function assertNotReserved(event: AnyEventObject): void {
  if (isReservedEventType(event.type)) {
    throw new RegistryError(
      'RESERVED_EVENT',
      `Event type '${event.type}' is reserved for XState itself (types starting with 'xstate.'); send your own event type, or create the registry with { allowReservedEvents: true } if you really mean it.`,
      { details: { type: event.type } },
    );
  }
}
