import type { AnyActor, AnyEventObject } from 'xstate';
import type { Registry } from '../registry.js';
import type { InstanceStatus } from '../status.js';

/** What a snapshot or a status shows of a change: status, state value and context. */
interface Shown {
  status?: unknown;
  value?: unknown;
  context?: unknown;
}

/** One event in flight: the last state seen before it, and the state it made. */
interface Watch {
  event: AnyEventObject;
  before: Shown | undefined;
  after: Shown | undefined;
}

/**
 * Tells whether one event changed its instance, exactly, however many other
 * events reach the instance at the same time. Comparing two `getStatus` reads
 * around the send cannot: another request's change that lands between them
 * is counted as this event's, and a change undone by another request before
 * the second read is missed. The probe instead follows the instance's
 * transitions in the order XState processes them, while the event is in
 * flight: the state just before it is the last one seen before it (or the
 * live actor's state when the watch began), the state after it is the one its
 * own transition reports (found by the event object's identity).
 *
 * One registry listener per registry, attached only while an event is in
 * flight, so an idle handler costs the registry nothing.
 *
 * @example
 * ```ts
 * const changed = await changeProbe(registry).track(id, event, () => registry.send(id, event));
 * ```
 */
export class ChangeProbe {
  readonly #registry: Registry<any>;
  readonly #watches = new Map<string, Set<Watch>>();
  #listening = 0;

  constructor(registry: Registry<any>) {
    this.#registry = registry;
  }

  /**
   * Runs `send` (which delivers `event` to `id`) and resolves to whether that
   * event changed the instance's status, state value or context.
   */
  async track(id: string, event: AnyEventObject, send: () => Promise<void>): Promise<boolean> {
    // Not live here (passive, or hosted by another process): start from the stored
    // status, a JSON view; an activation replaces it with the exact state (see #onActivated).
    const stored = this.#registry.get(id) ? undefined : await this.#registry.getStatus(id);
    const watch: Watch = { event, before: undefined, after: undefined };
    // Synchronously with the read of the live state: no transition can fall in between.
    this.#add(id, watch);
    const live = this.#registry.get(id);
    watch.before = live ? (live.getSnapshot() as Shown) : stored;
    try {
      await send();
    } finally {
      this.#remove(id, watch);
    }
    if (watch.after) return !sameView(watch.before, watch.after);
    // No transition of ours: a repeated idempotency key, an actor that failed on it,
    // or mail to another process. Only a new status is certain.
    const now = await this.#registry.getStatus(id);
    if (!watch.before || !now) return true;
    if (statusName(watch.before) !== now.status) return true;
    // Mailed to another process: its transitions are not seen here (documented as approximate).
    return this.#registry.get(id) === undefined && now.status === 'running'
      ? !sameView(watch.before, now)
      : false;
  }

  // A passivated instance the event activates: its state as restored is the exact
  // "before", where the stored status shows Maps, Sets and BigInts only as JSON
  // (so an ignored event would read as a change).
  readonly #onActivated = (a: { id: string; actor: AnyActor }): void => {
    const watches = this.#watches.get(a.id);
    if (!watches) return;
    for (const w of watches) if (!w.after) w.before = a.actor.getSnapshot() as Shown;
  };

  readonly #onTransition = (t: { id: string; snapshot: unknown; event: AnyEventObject }): void => {
    const watches = this.#watches.get(t.id);
    if (!watches) return;
    for (const w of watches) {
      if (w.after) continue;
      if (t.event === w.event) w.after = t.snapshot as Shown;
      else w.before = t.snapshot as Shown;
    }
  };

  #add(id: string, watch: Watch): void {
    if (this.#listening++ === 0) {
      this.#registry.on('transition', this.#onTransition);
      this.#registry.on('activated', this.#onActivated);
    }
    const set = this.#watches.get(id) ?? new Set<Watch>();
    this.#watches.set(id, set);
    set.add(watch);
  }

  #remove(id: string, watch: Watch): void {
    const set = this.#watches.get(id);
    set?.delete(watch);
    if (set?.size === 0) this.#watches.delete(id);
    if (--this.#listening === 0) {
      this.#registry.off('transition', this.#onTransition);
      this.#registry.off('activated', this.#onActivated);
    }
  }
}

const probes = new WeakMap<Registry<any>, ChangeProbe>();

/**
 * The one {@link ChangeProbe} of `registry`, shared by every handler over it.
 *
 * @example
 * ```ts
 * const changed = await changeProbe(registry).track(id, event, () => registry.send(id, event));
 * ```
 */
export function changeProbe(registry: Registry<any>): ChangeProbe {
  const probe = probes.get(registry) ?? new ChangeProbe(registry);
  probes.set(registry, probe);
  return probe;
}

/** `running` for XState's `active`; a status's own name otherwise. */
function statusName(shown: Shown | InstanceStatus): unknown {
  return shown.status === 'active' ? 'running' : shown.status;
}

function sameView(a: Shown | undefined, b: Shown): boolean {
  if (!a) return false;
  if (statusName(a) !== statusName(b)) return false;
  if (a.value === b.value && a.context === b.context) return true;
  const va = view(a);
  return va !== undefined && va === view(b);
}

/** The state value and context as comparable text: Maps, Sets and BigInts by content. */
function view(s: Shown): string | undefined {
  try {
    return JSON.stringify([s.value, s.context], (_k, v) =>
      typeof v === 'bigint'
        ? `${v}n`
        : v instanceof Map
          ? ['Map', [...v]]
          : v instanceof Set
            ? ['Set', [...v]]
            : v,
    );
  } catch {
    return undefined; // a cycle: compared by identity above
  }
}
