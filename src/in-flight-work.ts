import type { AnyActorRef } from 'xstate';

interface TreeSnapshot {
  status?: string;
  machine?: unknown;
  children?: Record<string, AnyActorRef | undefined>;
}

/**
 * Whether `actor`'s tree holds work that lives only in memory: an active invoked
 * or spawned promise, callback, observable or other non-machine actor. XState
 * persists such a child only as "started", so its answer (a resolved promise, a
 * callback's `sendBack`) would be lost if the actor were unloaded now. Child
 * machines are fully persistable and are searched for such work of their own.
 *
 * @example
 * ```ts
 * if (!hasInFlightWork(actor)) await passivate(instance); // nothing would be dropped
 * ```
 */
export function hasInFlightWork(actor: AnyActorRef): boolean {
  const snapshot = actor.getSnapshot() as TreeSnapshot;
  for (const child of Object.values(snapshot.children ?? {})) {
    if (!child) continue;
    const s = child.getSnapshot() as TreeSnapshot;
    if (s.status !== 'active') continue;
    if (s.machine === undefined || hasInFlightWork(child)) return true;
  }
  return false;
}

interface PersistedTree {
  status?: string;
  value?: unknown;
  children?: Record<string, { snapshot?: PersistedTree } | undefined>;
}

/**
 * {@link hasInFlightWork} for a persisted snapshot, before any actor exists: an
 * active child without a state value is not a machine, and XState starts it
 * again only when the actor is hosted.
 *
 * @example
 * ```ts
 * if (persistedHasInFlightWork(record.snapshot)) host(instance); // its promise must run again
 * ```
 */
export function persistedHasInFlightWork(snapshot: unknown): boolean {
  const children = (snapshot as PersistedTree | undefined)?.children;
  for (const child of Object.values(children ?? {})) {
    const s = child?.snapshot;
    if (s?.status !== 'active') continue;
    if (!('value' in s) || persistedHasInFlightWork(s)) return true;
  }
  return false;
}
