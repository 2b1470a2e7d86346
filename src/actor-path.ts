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
    const snapshot: { children?: Record<string, AnyActorRef> } | undefined = current?.getSnapshot();
    current = snapshot?.children?.[id];
    if (!current) return undefined;
  }
  return current;
}
