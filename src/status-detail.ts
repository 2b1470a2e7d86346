import type { Instance } from './instance.js';
import type { PersistedTimer } from './persisted-timer.js';
import { readTimers } from './xstate-internals.js';

/**
 * A pending delayed event, as an instance's status shows it.
 *
 * @example
 * ```ts
 * for (const t of status.timers) console.log(t.event, 'due', new Date(t.dueAt));
 * ```
 */
export interface TimerStatus {
  /** The type of the event that will be delivered. */
  event: string;
  /** XState's ID of the delayed event (the `id` of a delayed action, or XState's generated one). */
  id?: string;
  /** Epoch milliseconds on the registry's clock. */
  dueAt: number;
  /** Path of child IDs (`parent/child`) of the actor that receives it, when that is not the root. */
  target?: string;
}

/**
 * A live child actor of an instance's root, as its status shows it.
 *
 * @example
 * ```ts
 * const busy = status.children.filter((c) => c.status === 'active');
 * ```
 */
export interface ChildStatus {
  id: string;
  /** The name its logic is registered under in `setup({ actors })`, when it is one. */
  src?: string;
  /** XState's status of the child: `'active'`, `'done'`, `'error'` or `'stopped'`. */
  status: string;
}

/**
 * The timers to show for `instance`: those `stored` in its record (passive or
 * remote), else those of its live actor, else none (finished instances have none).
 *
 * @example
 * ```ts
 * status.timers = timerStatuses(instance);
 * ```
 */
export function timerStatuses(
  instance: Instance | undefined,
  stored?: readonly PersistedTimer[],
): TimerStatus[] {
  let timers: readonly PersistedTimer[] = stored ?? [];
  if (stored === undefined && instance && instance.status === 'running') {
    if (instance.frozen) timers = instance.frozen.timers;
    else if (instance.actor) {
      try {
        timers = readTimers(instance.actor);
      } catch {
        timers = []; // a status is never refused for what it only describes
      }
    }
  }
  return timers.map((t) => {
    const view: TimerStatus = { event: String(t.event?.type), id: t.id, dueAt: t.dueAt };
    if (t.target.length) view.target = t.target.join('/');
    return view;
  });
}

/**
 * The children listed in a snapshot: a persisted one (entries with `src` and
 * `snapshot`) or a live one (actor refs, when XState could not persist it).
 *
 * @example
 * ```ts
 * childStatuses(actor.getPersistedSnapshot()); // [{ id: 'w', src: 'worker', status: 'active' }]
 * ```
 */
export function childStatuses(snapshot: unknown): ChildStatus[] {
  const children = (snapshot as { children?: unknown } | null | undefined)?.children;
  if (!children || typeof children !== 'object') return [];
  const out: ChildStatus[] = [];
  for (const id of Object.keys(children)) {
    const child = (children as Record<string, unknown>)[id] as
      | { src?: unknown; snapshot?: { status?: unknown }; getSnapshot?: () => { status?: unknown } }
      | undefined;
    if (!child || typeof child !== 'object') continue;
    const inner = typeof child.getSnapshot === 'function' ? child.getSnapshot() : child.snapshot;
    const view: ChildStatus = { id, status: String(inner?.status ?? 'active') };
    if (typeof child.src === 'string') view.src = child.src;
    out.push(view);
  }
  return out;
}
