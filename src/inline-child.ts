/**
 * The path (`parent/child`) of the first child in a persisted snapshot whose
 * logic is not registered by name (so XState cannot restore it), if any.
 *
 * @example
 * ```ts
 * inlineChild(actor.getPersistedSnapshot()); // 'worker' for spawnChild(fromPromise(...), { id: 'worker' })
 * ```
 */
export function inlineChild(snapshot: unknown, prefix = ''): string | undefined {
  const children = (snapshot as { children?: unknown } | undefined)?.children;
  if (!children || typeof children !== 'object') return undefined;
  for (const id in children) {
    const entry = (children as Record<string, { src?: unknown; snapshot?: unknown } | undefined>)[
      id
    ];
    if (typeof entry?.src !== 'string') return `${prefix}${id}`;
    const nested = inlineChild(entry.snapshot, `${prefix}${id}/`);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * A copy of a persisted snapshot without its inline children (for the final
 * record of a finished actor, which is never restored into an actor).
 *
 * @example
 * ```ts
 * withoutInlineChildren(persistedSnapshot(actor)); // its registered children kept, the inline ones left out
 * ```
 */
export function withoutInlineChildren(snapshot: unknown): unknown {
  const s = snapshot as { children?: Record<string, { src?: unknown; snapshot?: unknown }> };
  if (!s?.children || typeof s.children !== 'object') return snapshot;
  const children: Record<string, unknown> = {};
  for (const id in s.children) {
    const child = s.children[id];
    if (typeof child?.src === 'string')
      children[id] = { ...child, snapshot: withoutInlineChildren(child.snapshot) };
  }
  return { ...s, children };
}
