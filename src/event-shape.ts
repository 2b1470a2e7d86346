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
