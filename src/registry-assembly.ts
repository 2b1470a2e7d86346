import type { InspectionEvent } from 'xstate';
import { ActorHost } from './actor-host.js';
import { ClusterHosting } from './cluster.js';
import { Delivery } from './delivery.js';
import { isRegistryError, RegistryError } from './errors.js';
import { InstanceTable } from './instance-table.js';
import { InstanceWatchers } from './instance-watchers.js';
import { Passivation } from './passivation.js';
import { Persister } from './persister.js';
import { RegistryEmitter } from './registry-events.js';
import { RegistryGate } from './registry-gate.js';
import type { ResolvedOptions } from './registry-options.js';
import type { RegistryParts } from './registry-parts.js';
import { Session } from './registry-session.js';
import { isClusterStore } from './stores/store.js';

/**
 * Whether the store is failing, for `health()`: set by a failed store write,
 * cleared once every change is durable again.
 *
 * @example
 * ```ts
 * if (assembly.storeHealth.failing) return 503;
 * ```
 */
export interface StoreHealth {
  failing: boolean;
}

/**
 * A registry's modules, wired together: what the `Registry` facade holds.
 *
 * @example
 * ```ts
 * const { parts, delivery, session, storeHealth } = assembleRegistry(resolveOptions(options));
 * ```
 */
export interface RegistryAssembly {
  readonly parts: RegistryParts;
  readonly delivery: Delivery;
  readonly session: Session;
  readonly storeHealth: StoreHealth;
}

/**
 * Builds the modules a registry is made of from its checked options and wires
 * them together, each handed only the modules below it.
 *
 * @example
 * ```ts
 * const assembly = assembleRegistry(resolveOptions({ machines: { job } }));
 * await assembly.session.start();
 * ```
 */
export function assembleRegistry(o: ResolvedOptions): RegistryAssembly {
  const storeHealth: StoreHealth = { failing: false };
  const gate = new RegistryGate();
  const watchers = new InstanceWatchers();
  const emitter = new RegistryEmitter((err) => o.logger('[xstate-registry]', err));
  const actorOptions: Record<string, unknown> = { clock: o.clock };
  if (o.actorLogger) actorOptions.logger = o.actorLogger;
  const userInspect = o.inspect;
  if (userInspect) {
    // XState calls inspectors inside transitions: one that throws must not break the actor.
    actorOptions.inspect = (event: InspectionEvent) => {
      try {
        if (typeof userInspect === 'function') userInspect(event);
        else userInspect.next?.(event);
      } catch (err) {
        emitter.emit(
          'error',
          new RegistryError('LISTENER_FAILED', 'The inspect observer threw; fix the observer.', {
            cause: err,
          }),
        );
      }
    };
  }
  // `cluster` and `delivery` are created below; the persister reports only once writes run.
  let cluster: ClusterHosting | undefined;
  let delivery: Delivery | undefined;
  const persister: Persister = new Persister({
    store: o.store,
    maxRecordBytes: o.maxRecordBytes,
    report: (err) => {
      // A fenced write means another process owns the instance now: stop our copy.
      if (isRegistryError(err, 'FENCED')) cluster?.lost(err.details.id, 'a write was fenced');
      if (err.code === 'PERSIST_FAILED') storeHealth.failing = true;
      emitter.emit('error', err);
    },
    onProgress: () => {
      if (persister.backlog === 0) storeHealth.failing = false;
      delivery?.release();
    },
  });
  const instances = new InstanceTable({ clock: o.clock, writes: persister, watchers });
  const actors = new ActorHost({
    clock: o.clock,
    actorOptions,
    emitter,
    changed: (instance) => instances.changed(instance),
  });
  const passivation =
    o.idleTimeoutMs === undefined
      ? undefined
      : new Passivation({
          idleTimeoutMs: o.idleTimeoutMs,
          clock: o.clock,
          instances,
          machines: o.machines,
          store: o.store,
          persister,
          actors,
          emitter,
          exclusive: (id, fn) => gate.exclusive(id, fn),
          isLocked: (id) => gate.locks.isLocked(id),
        });
  cluster = isClusterStore(o.store)
    ? new ClusterHosting({
        store: o.store,
        clock: o.clock,
        instances,
        machines: o.machines,
        persister,
        actors,
        emitter,
        exclusive: (id, fn) => gate.exclusive(id, fn),
        sweepIntervalMs: o.takeoverIntervalMs,
      })
    : undefined;
  if (cluster) instances.useLeases(cluster);
  const parts: RegistryParts = {
    gate,
    instances,
    persister,
    actors,
    emitter,
    clock: o.clock,
    store: o.store,
    machines: o.machines,
    durability: o.durability,
    idempotency: o.idempotency,
    allowReserved: o.allowReserved,
    cluster,
    passivation,
    watchers,
  };
  delivery = new Delivery(parts, o.maxPending);
  const session = new Session(parts, delivery);
  return { parts, delivery, session, storeHealth };
}
