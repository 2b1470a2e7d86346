import type { ActorHost } from './actor-host.js';
import type { Clock } from './clock.js';
import type { InstanceTable } from './instance-table.js';
import type { ResolvedMachine } from './machines.js';
import type { Persister } from './persister.js';
import type { RegistryEmitter } from './registry-events.js';
import type { RegistryGate } from './registry-gate.js';
import type { ClusterStore } from './stores/cluster-store.js';

/**
 * What cluster hosting (`ClusterHosting`) is handed: the store whose leases it
 * holds, and the modules it hosts instances with.
 *
 * @example
 * ```ts
 * const hosting = new ClusterHosting({ store, clock, instances, machines, persister, actors, emitter, gate, sweepIntervalMs: 5_000 });
 * ```
 */
export interface ClusterDeps {
  store: ClusterStore;
  clock: Clock;
  instances: InstanceTable;
  machines: Map<string, ResolvedMachine>;
  persister: Persister;
  actors: ActorHost;
  emitter: RegistryEmitter;
  /** Runs work under an instance ID's lock, counted in flight until it settles. */
  gate: RegistryGate;
  /** How often to look for instances whose owner died. */
  sweepIntervalMs: number;
  /** Mail from other processes, when the store carries an inbox. */
  mail?: ClusterMail;
}

/**
 * What hosting needs of the mail between processes (`RemoteDelivery`).
 *
 * @example
 * ```ts
 * const mail: ClusterMail = { start: () => remote.start(), stop: () => remote.stop(), drainHere: (id) => remote.drainHere(id), sweep: () => remote.sweep() };
 * ```
 */
export interface ClusterMail {
  /** Listens for mail, and for processes handing their instances over. */
  start(): void;
  stop(): void;
  /** Applies the mail waiting for a just-adopted instance (under its lock), before any new call reaches it. */
  drainHere(id: string): Promise<void>;
  /** Applies mail the notifications missed. */
  sweep(): Promise<void>;
}
