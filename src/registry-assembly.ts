import { ActorHost } from './actor-host.js';
import { ClusterHosting } from './cluster.js';
import { Delivery } from './delivery.js';
import { InstanceTable } from './instance-table.js';
import { InstanceWatchers } from './instance-watchers.js';
import { Passivation } from './passivation.js';
import { Persister } from './persister.js';
import { purgeHere } from './purge-instance.js';
import { RegistryEmitter } from './registry-events.js';
import { RegistryGate } from './registry-gate.js';
import type { ResolvedOptions } from './registry-options.js';
import type { RegistryParts } from './registry-parts.js';
import { Session } from './registry-session.js';
import { RemoteDelivery } from './remote-delivery.js';
import { stopHere } from './stop-instance.js';
import { hasInbox } from './stores/cluster-inbox.js';
import { isClusterStore } from './stores/cluster-store.js';

/**
 * A registry's modules, wired together: what the `Registry` facade holds.
 *
 * @example
 * ```ts
 * const { parts, delivery, session } = assembleRegistry(resolveOptions(options));
 * ```
 */
export interface RegistryAssembly {
  readonly parts: RegistryParts;
  readonly delivery: Delivery;
  readonly session: Session;
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
  const gate = new RegistryGate();
  const watchers = new InstanceWatchers();
  const emitter = new RegistryEmitter((err) => o.logger('[xstate-registry]', err));
  if (o.history) o.history.report = (err) => emitter.emit('error', err);
  const persister = new Persister({ store: o.store, maxRecordBytes: o.maxRecordBytes });
  const instances = new InstanceTable({ clock: o.clock, writes: persister, watchers });
  const actors = new ActorHost({
    clock: o.clock,
    emitter,
    instances,
    logger: o.actorLogger,
    inspect: o.inspect,
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
          gate,
        });
  // Set below, once the parts it works on exist (the cluster's mail hooks call it late).
  let remote: RemoteDelivery | undefined;
  const cluster = isClusterStore(o.store)
    ? new ClusterHosting({
        store: o.store,
        clock: o.clock,
        instances,
        machines: o.machines,
        persister,
        actors,
        emitter,
        gate,
        sweepIntervalMs: o.takeoverIntervalMs,
        ...(hasInbox(o.store)
          ? {
              mail: {
                start: () => remote?.start(),
                stop: () => remote?.stop(),
                drainHere: (id: string) => remote?.drainHere(id) ?? Promise.resolve(),
                sweep: () => remote?.sweep() ?? Promise.resolve(),
              },
            }
          : {}),
      })
    : undefined;
  if (cluster) instances.useLeases(cluster);
  // An instance adopted here is live: idle passivation sweeps again if it had stopped.
  if (cluster && passivation) emitter.on('restored', () => passivation.wake());
  // After the cluster's own subscription: a fenced write stops the local copy before it is reported.
  persister.onFailed((err) => emitter.emit('error', err));
  const base: RegistryParts = {
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
    remote: undefined,
  };
  const store = o.store;
  if (cluster && hasInbox(store)) {
    remote = new RemoteDelivery({
      parts: base,
      inbox: store.inbox,
      stopHere: async (id, reason) => stopHere(base, id, reason),
      purgeHere: (id) => purgeHere(base, id, true),
      takeOver: () => cluster.takeOver(),
      // An owner that dies is taken over within a lease and a sweep, and its
      // successor applies the mail: three lease periods is a silent owner.
      answerWithinMs: 3 * (store.leaseMs ?? 10_000) + o.takeoverIntervalMs,
    });
  }
  const parts: RegistryParts = { ...base, remote };
  const delivery = new Delivery(parts, o.maxPending);
  const session = new Session(parts, delivery);
  return { parts, delivery, session };
}
