import type { AnyActorRef } from 'xstate';

/**
 * The actor at `path` (child IDs from `root`, as a persisted timer names its
 * source and target) in `root`'s live tree, through each snapshot's public
 * `children`; `undefined` when an actor on the way no longer exists.
 *
 * @example
 * ```ts
 * const child = resolvePath(actor, ['payment', 'retry']);
 * ```
 */
export function resolvePath(root: AnyActorRef, path: readonly string[]): AnyActorRef | undefined {
  let current: AnyActorRef | undefined = root;
  for (const id of path) {
    const children: Record<string, AnyActorRef> | undefined = (
      current?.getSnapshot() as { children?: Record<string, AnyActorRef> } | undefined
    )?.children;
    // Own children only: a stored path of "constructor" or "toString" must not
    // reach what every object inherits (a timer sent there crashed the process).
    current = children && Object.hasOwn(children, id) ? children[id] : undefined;
    if (!current) return undefined;
  }
  return current;
}
