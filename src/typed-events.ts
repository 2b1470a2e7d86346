import type { SerializedError } from './errors.js';
import type { MachineMap } from './machines.js';
import type { RegistryEvents } from './registry-events.js';
import type { ActorOf, EventOf, OutputOf, SnapshotOf, TypeName } from './types.js';

/** One payload per type name, as a union discriminated on `type`. */
type PerType<M extends MachineMap, P extends { [K in TypeName<M>]: unknown }> = P[TypeName<M>];

/**
 * An event XState itself sends a machine, which `transition` reports as it
 * reports the machine's own: a delayed transition firing
 * (`xstate.after.1000.job.waiting`), a child's result (`xstate.done.actor.…`,
 * `xstate.error.actor.…`), and the like. Their types all start with `xstate.`,
 * so a check of `event.type` against the machine's own types narrows them away.
 *
 * @example
 * ```ts
 * registry.on('transition', (e) => {
 *   if (e.event.type.startsWith('xstate.')) return; // timers, children
 *   audit(e.id, e.event);
 * });
 * ```
 */
export type InternalEvent = { type: `xstate.${string}`; [key: string]: unknown };

/**
 * The registry's lifecycle events with payloads typed from its machines: each
 * payload is a union discriminated on `type`, so checking `type` narrows the
 * actor, snapshot, event and output to that machine's.
 *
 * @example
 * ```ts
 * registry.on('transition', (e) => {
 *   if (e.type === 'job') console.log(e.snapshot.context.day, e.event.type);
 * });
 * ```
 */
export type TypedRegistryEvents<M extends MachineMap> = Omit<
  RegistryEvents,
  | 'spawned'
  | 'restored'
  | 'transition'
  | 'done'
  | 'failed'
  | 'stopped'
  | 'purged'
  | 'passivated'
  | 'activated'
  | 'lost'
> & {
  spawned: PerType<
    M,
    { [K in TypeName<M>]: { id: string; type: K; actor: ActorOf<M, K>; replaced: boolean } }
  >;
  restored: PerType<M, { [K in TypeName<M>]: { id: string; type: K; actor: ActorOf<M, K> } }>;
  transition: PerType<
    M,
    {
      [K in TypeName<M>]: {
        id: string;
        type: K;
        snapshot: SnapshotOf<M, K>;
        /** The machine's own events, or one XState sent it (see {@link InternalEvent}). */
        event: EventOf<M, K> | InternalEvent;
      };
    }
  >;
  done: PerType<M, { [K in TypeName<M>]: { id: string; type: K; output: OutputOf<M, K> } }>;
  failed: { id: string; type: TypeName<M>; error: SerializedError };
  stopped: { id: string; type: TypeName<M>; reason: string | undefined };
  purged: { id: string; type: TypeName<M> };
  passivated: { id: string; type: TypeName<M> };
  activated: PerType<M, { [K in TypeName<M>]: { id: string; type: K; actor: ActorOf<M, K> } }>;
  lost: { id: string; type: TypeName<M> };
};
