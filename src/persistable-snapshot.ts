import type { AnyActor } from 'xstate';
import { RegistryError } from './errors.js';
import { inlineChild, withoutInlineChildren } from './inline-child.js';
import type { InstanceStatusName } from './record.js';
import { persistedSnapshot } from './xstate-internals/persisted-snapshot.js';

/**
 * The persisted snapshot of a live actor as of now, checked to be one a
 * restore can turn back into the same actor; `undefined` without an actor.
 * Throws `NOT_SERIALIZABLE` when XState cannot persist it (a cycle, a deep
 * nest, unregistered child logic) or when a running actor has an inline child,
 * so the last good record stays rather than one that cannot load.
 *
 * @example
 * ```ts
 * const snapshot = persistableSnapshot(instance.actor, instance.id, instance.status);
 * ```
 */
export function persistableSnapshot(
  actor: AnyActor | undefined,
  id: string,
  status: InstanceStatusName,
): unknown {
  let snapshot: unknown;
  try {
    snapshot = actor && persistedSnapshot(actor);
  } catch (cause) {
    throw new RegistryError(
      'NOT_SERIALIZABLE',
      cause instanceof RangeError
        ? // XState's getPersistedSnapshot copies context recursively, object by object.
          `XState cannot persist instance '${id}': its context holds a cycle of plain objects or arrays, or nests thousands of levels deep (${cause.message}). Break the cycle, or keep it inside a Map or Set, which are stored with their cycles; flatten a deep structure.`
        : `XState cannot persist instance '${id}': ${(cause as Error)?.message ?? String(cause)} Register child logic in setup({ actors }) and invoke or spawn it by name, so it can be restored.`,
      { cause, details: { id: id } },
    );
  }
  const inline = inlineChild(snapshot);
  // A finished (done, failed) actor's record is never restored into an actor.
  if (inline && status !== 'running') return withoutInlineChildren(snapshot);
  if (inline) {
    // XState's production build persists an inline child's logic object as
    // its `src`, which no restore can turn back into an actor: refuse it here,
    // so the last good record stays, rather than write one that cannot load.
    throw new RegistryError(
      'NOT_SERIALIZABLE',
      `Instance '${id}' has an inline child actor '${inline}' (its logic was passed to invoke or spawn directly), which cannot be persisted or restored; nothing was written, and the last stored state stays. Register the child's logic in setup({ actors }) (e.g. setup({ actors: { worker: logic } })) and invoke or spawn it by that name.`,
      { details: { id, child: inline } },
    );
  }
  return snapshot;
}
