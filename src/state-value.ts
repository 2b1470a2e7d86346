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
