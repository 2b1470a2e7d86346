import type { AnyActor, AnyEventObject } from 'xstate';
import { RegistryError } from './errors.js';

const guarded = new WeakSet<AnyActor>();

/**
 * Makes a send to a registry-hosted actor that the registry has since stopped
 * (passivated, taken over, replaced, closed) loud: XState drops such an event
 * with at most a development warning, so the caller would never know. The
 * event is still not delivered (that actor object is dead for good); `report`
 * gets a `STALE_ACTOR` error naming the cure, `registry.actor(type, id)`.
 * A `done` actor is left alone: XState defines sends to it as ignored.
 *
 * @example
 * ```ts
 * guardStaleSends(actor, (err) => emitter.emit('error', err));
 * ```
 */
export function guardStaleSends(actor: AnyActor, report: (err: RegistryError) => void): void {
  if (guarded.has(actor)) return;
  guarded.add(actor);
  const send = actor.send.bind(actor);
  actor.send = (event: AnyEventObject) => {
    if (actor.getSnapshot().status === 'stopped') {
      report(
        new RegistryError(
          'STALE_ACTOR',
          `Event '${String(event?.type)}' was sent to a stopped actor object of instance '${actor.id}' (passivated, taken over, replaced or closed) and was not delivered. Hold registry.actor(type, id) instead, or call registry.send(id, event).`,
          { details: { id: actor.id, eventType: String(event?.type) } },
        ),
      );
    }
    send(event);
  };
}
