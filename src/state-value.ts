import type { AnyStateMachine } from 'xstate';

/** What of a state node the check reads: its child states by name (public XState API). */
interface StateNodeLike {
  states: Record<string, StateNodeLike>;
}

/**
 * The first part of a stored state value that names no state of `machine`,
 * as a path (`b."hasOwnProperty"`), or `undefined` when every name is one of
 * its states. XState looks names up on a plain object, so a name its
 * prototype has (`constructor`, `toString`, `__proto__`) or a value that is no
 * name at all (`42`) raised nothing there: the actor came back in its initial
 * state, the stored one silently replaced.
 *
 * @example
 * ```ts
 * unknownStatePart(machine, { b: 'inner' }); // undefined
 * unknownStatePart(machine, 'constructor'); // '"constructor"'
 * ```
 */
export function unknownStatePart(machine: AnyStateMachine, value: unknown): string | undefined {
  const has = (node: StateNodeLike, name: string) => Object.hasOwn(node.states, name);
  const walk = (node: StateNodeLike, part: unknown, path: string): string | undefined => {
    if (typeof part === 'string') return has(node, part) ? undefined : path + JSON.stringify(part);
    if (part === null || typeof part !== 'object' || Array.isArray(part))
      return path + (JSON.stringify(part) ?? String(part));
    for (const [name, inner] of Object.entries(part)) {
      if (!has(node, name)) return path + JSON.stringify(name);
      const bad = walk(node.states[name] as StateNodeLike, inner, `${path}${name}.`);
      if (bad !== undefined) return bad;
    }
    return undefined;
  };
  return walk(machine.root as unknown as StateNodeLike, value, '');
}

/** Where {@link unknownStoredState} found a stored state that its machine does not have. */
export interface UnknownStoredState {
  /** The path of child IDs from the root (empty for the root machine itself). */
  children: string[];
  /** The part of the state value that names no state, as {@link unknownStatePart} gives it. */
  part: string;
  /** The child's logic as registered in `setup({ actors })`; absent for the root. */
  src?: string;
}

interface PersistedChildLike {
  snapshot?: { value?: unknown; children?: unknown } | null;
  src?: unknown;
}

/** A registered child logic that is a state machine (other logic has no state value). */
function childMachine(machine: AnyStateMachine, src: unknown): AnyStateMachine | undefined {
  if (typeof src !== 'string') return undefined;
  const actors = machine.implementations.actors as Record<string, unknown>;
  const logic = Object.hasOwn(actors, src) ? actors[src] : undefined;
  const root = (logic as { root?: { states?: unknown } } | undefined)?.root;
  return root && typeof root.states === 'object' ? (logic as AnyStateMachine) : undefined;
}

/**
 * {@link unknownStatePart} over a persisted snapshot and every child machine
 * in it, at any depth: a child's stored value is looked up by XState the same
 * way, so a bad one came back as the child's initial state (`constructor`,
 * `42`) or as a child in `error`, silently. Children whose logic is not a
 * registered machine are skipped (an inline child is refused by its own check).
 *
 * @example
 * ```ts
 * unknownStoredState(parent, { value: 'p', children: { kid: { src: 'child', snapshot: { value: 'nope' } } } });
 * // { children: ['kid'], part: '"nope"', src: 'child' }
 * ```
 */
export function unknownStoredState(
  machine: AnyStateMachine,
  snapshot: unknown,
): UnknownStoredState | undefined {
  const walk = (
    logic: AnyStateMachine,
    stored: { value?: unknown; children?: unknown } | null | undefined,
    path: string[],
    src: string | undefined,
  ): UnknownStoredState | undefined => {
    const part = unknownStatePart(logic, stored?.value);
    if (part !== undefined)
      return src === undefined ? { children: path, part } : { children: path, part, src };
    const children = stored?.children;
    if (!children || typeof children !== 'object') return undefined;
    // for-in, not Object.entries: start() runs this on every record, and most have no child.
    for (const id in children) {
      if (!Object.hasOwn(children, id)) continue;
      const child = (children as Record<string, PersistedChildLike>)[id];
      const inner = childMachine(logic, child?.src);
      if (!inner || !child) continue;
      const bad = walk(inner, child.snapshot, [...path, id], child.src as string);
      if (bad) return bad;
    }
    return undefined;
  };
  return walk(machine, snapshot as { value?: unknown } | null | undefined, [], undefined);
}
