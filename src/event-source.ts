import type { AnyActorRef, AnyEventObject } from 'xstate';

/**
 * Where an event delivered to a root actor came from (see {@link eventSource}):
 * `'api'`/`'http'` as claimed by {@link sendFrom}, `'timer'` for a delayed
 * event, `'child'` for one sent by another actor, `'direct'` for `actor.send`.
 *
 * @example
 * ```ts
 * const source: EventSource = eventSource(event) ?? 'direct';
 * ```
 */
export type EventSource = 'api' | 'http' | 'timer' | 'child' | 'direct';

// Keyed by the event object: XState hands the same object from the relay to the
// transition's snapshot inspection, however long it waited in the mailbox.
const claimed = new WeakMap<object, EventSource>();
const sources = new WeakMap<object, EventSource>();

/**
 * `actor.send(event)`, with the transition it causes journaled as coming from
 * `source` rather than `'direct'` (only with `watchSnapshots`' `trackSources`).
 *
 * @example
 * ```ts
 * sendFrom(actor, { type: 'PAY' }, 'api');
 * ```
 */
export function sendFrom(actor: AnyActorRef, event: AnyEventObject, source: EventSource): void {
  // A claim made further out (the HTTP layer's, around registry.send) wins.
  if (claimed.has(event)) {
    actor.send(event);
    return;
  }
  claimed.set(event, source);
  try {
    actor.send(event);
  } finally {
    claimed.delete(event);
  }
}

/**
 * Claims `event` as coming from `source` until the returned function is
 * called: whatever sends it meanwhile (`registry.send`) journals that source.
 *
 * @example
 * ```ts
 * const release = claimSource(event, 'http');
 * try { await registry.send(id, event); } finally { release(); }
 * ```
 */
export function claimSource(event: AnyEventObject, source: EventSource): () => void {
  claimed.set(event, source);
  return () => claimed.delete(event);
}

/**
 * The source claimed for `event` by a caller further out (the HTTP layer), if any.
 *
 * @example
 * ```ts
 * const source = claimedSource(event) ?? 'api'; // sent on to another process's instance
 * ```
 */
export function claimedSource(event: AnyEventObject): EventSource | undefined {
  return claimed.get(event);
}

/**
 * Where the last delivery of `event` to a watched root came from; `undefined`
 * if it was never delivered to one whose sources are tracked.
 *
 * @example
 * ```ts
 * registry.on('transition', (t) => console.log(eventSource(t.event)));
 * ```
 */
export function eventSource(event: AnyEventObject): EventSource | undefined {
  return sources.get(event);
}

/**
 * Records where a delivery of `event` to a watched root came from: a timer
 * (`byTimer`), the API or HTTP as claimed by {@link sendFrom} (no sender), the
 * root itself (`'direct'`), or another actor (`'child'`).
 *
 * @example
 * ```ts
 * noteDelivery(event, false, undefined, root); // eventSource(event) === 'direct'
 * ```
 */
export function noteDelivery(
  event: AnyEventObject,
  byTimer: boolean,
  from: AnyActorRef | undefined,
  root: AnyActorRef,
): void {
  sources.set(
    event,
    byTimer
      ? 'timer'
      : from === undefined
        ? (claimed.get(event) ?? 'direct')
        : from === root
          ? 'direct'
          : 'child',
  );
}
