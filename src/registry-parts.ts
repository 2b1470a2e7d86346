import type { ActorHost } from './actor-host.js';
import type { Clock } from './clock.js';
import type { ClusterHosting } from './cluster.js';
import { describeValue, isRegistryError, RegistryError } from './errors.js';
import type { IdempotencyOptions } from './idempotency.js';
import type { Instance } from './instance.js';
import type { InstanceTable } from './instance-table.js';
import type { InstanceWatchers } from './instance-watchers.js';
import type { ResolvedMachine } from './machines.js';
import type { Passivation } from './passivation.js';
import type { Persister } from './persister.js';
import type { RegistryEmitter } from './registry-events.js';
import type { RegistryGate } from './registry-gate.js';
import type { InstanceStatus } from './status.js';
import type { MailBody } from './stores/cluster-inbox.js';
import type { RecordMeta, Store } from './stores/store.js';

/**
 * The modules a registry is made of, handed down to the modules that carry out
 * its operations (singleton creation, event delivery), so that none of them
 * calls back up into the `Registry` facade.
 *
 * @example
 * ```ts
 * const parts: RegistryParts = { gate, instances, persister, actors, ... };
 * await ensureSlowly(parts, 'job', 'nightly', {}, undefined);
 * ```
 */
export interface RegistryParts {
  readonly gate: RegistryGate;
  readonly instances: InstanceTable;
  readonly persister: Persister;
  readonly actors: ActorHost;
  readonly emitter: RegistryEmitter;
  readonly clock: Clock;
  readonly store: Store;
  readonly machines: Map<string, ResolvedMachine>;
  readonly durability: 'relaxed' | 'strict';
  readonly idempotency: Required<IdempotencyOptions>;
  readonly allowReserved: boolean;
  readonly cluster: ClusterHosting | undefined;
  readonly passivation: Passivation | undefined;
  readonly watchers: InstanceWatchers;
  /** With a cluster store that has an inbox: how calls reach instances hosted by other processes. */
  readonly remote: RemoteCalls | undefined;
}

/**
 * How a call reaches an instance another process hosts (see `RemoteDelivery`).
 *
 * @example
 * ```ts
 * await parts.remote?.post('order-7', { kind: 'stop', reason: 'cancelled' });
 * ```
 */
export interface RemoteCalls {
  /** Posts a request for `id`; durable once it resolves. An event's empty `key` gets a generated one. */
  post(id: string, body: MailBody): Promise<void>;
  /** See `ClusterInbox.recordLanded`: waits (bounded) for the first record of an instance being created elsewhere. */
  recordLanded(id: string, timeoutMs: number): { landed: Promise<void>; cancel(): void };
  /**
   * Reads the state of `id` again until `done` holds: whenever its owner has
   * applied mail for it (a notification), and at least every second. Rejects
   * with `REGISTRY_CLOSED` once the registry closes and, with `bounded`, with
   * `TIMEOUT` after a few lease periods (an owner that never answers).
   */
  until<T>(
    id: string,
    read: () => Promise<T>,
    done: (value: T) => boolean,
    options?: UntilOptions,
  ): Promise<T>;
  /** `waitFor` calls watching an instance hosted elsewhere now (part of `stats().waiters`). */
  readonly waiting: number;
  /** Counts `wait` in {@link waiting} until it settles for its caller; returns it. */
  waits<T>(wait: Promise<T>): Promise<T>;
}

/**
 * How a wait on an instance hosted elsewhere ends besides its condition:
 * `bounded` names what was asked of the owner (`'stop'`, `'purge'`) and bounds
 * the wait (TIMEOUT); `deadline` (on the registry's clock) and `signal` make
 * it look again at once when they pass, for the caller's own timeout and abort.
 */
export interface UntilOptions {
  bounded?: string;
  deadline?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * The registered machine of `type`; throws `UNKNOWN_MACHINE` naming the known ones.
 *
 * @example
 * ```ts
 * const def = machineOf(parts.machines, 'job');
 * ```
 */
export function machineOf(
  machines: ReadonlyMap<string, ResolvedMachine>,
  type: string,
): ResolvedMachine {
  const def = machines.get(type);
  if (!def) {
    if (typeof type !== 'string')
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `A machine type is a string naming a registered machine, got ${describeValue(type)}; known types: ${[...machines.keys()].join(', ') || '(none)'}.`,
      );
    throw new RegistryError(
      'UNKNOWN_MACHINE',
      `No machine registered under type '${type}'; known types: ${[...machines.keys()].join(', ') || '(none)'}.`,
      { details: { type } },
    );
  }
  return def;
}

/**
 * `result()` now with relaxed durability; with strict, once `instance`'s latest change is durable.
 *
 * @example
 * ```ts
 * return whenDurable(parts, instance, () => statusOf(instance));
 * ```
 */
export function whenDurable<T>(
  parts: RegistryParts,
  instance: Instance,
  result: () => T,
): T | Promise<T> {
  if (parts.durability !== 'strict') return result();
  return parts.persister.durable(instance).then(result);
}

/**
 * Under the ID's lock: makes `id` local (cluster adoption) and live
 * (activation) if it is not, so the operation that follows finds it hosted.
 * With `initial` (see `ClusterHosting.adopt`), resolves `created` when the
 * claim stored that first record of a new instance.
 *
 * @example
 * ```ts
 * await parts.gate.exclusive(id, async () => { await bringHere(parts, id, false); return deliver(); });
 * ```
 */
export async function bringHere(
  parts: RegistryParts,
  id: string,
  create: boolean,
  initial?: { text: string; meta: RecordMeta },
): Promise<'created' | undefined> {
  // Stored with its claim: the caller admits and starts the instance it encoded.
  if ((await parts.cluster?.adopt(id, create, initial)) === 'created') return 'created';
  const instance = parts.instances.get(id);
  if (instance?.passive && parts.passivation) await parts.passivation.activate(instance);
}

/**
 * Throws `TYPE_MISMATCH` unless instance `id`'s type `actual` is the `expected` one the caller named.
 *
 * @example
 * ```ts
 * assertType('nightly', instance.type, 'job');
 * ```
 */
export function assertType(id: string, actual: string, expected: string): void {
  if (actual !== expected) {
    if (typeof expected !== 'string')
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `The type option must be a string naming a machine type, got ${describeValue(expected)}.`,
      );
    throw new RegistryError(
      'TYPE_MISMATCH',
      `Instance '${id}' has type '${actual}', not '${expected}'; name its own type.`,
      { details: { id, type: expected, existingType: actual } },
    );
  }
}

/**
 * Under the ID's lock: makes `id` local (adopting, and activating unless
 * `adoptOnly`) and says so; `false` when another live process hosts it and
 * the call can be mailed there (a store with an inbox).
 *
 * @example
 * ```ts
 * if (!(await reach(parts, id))) await parts.remote?.post(id, { kind: 'stop' });
 * ```
 */
export async function reach(parts: RegistryParts, id: string, adoptOnly = false): Promise<boolean> {
  try {
    if (adoptOnly) await parts.cluster?.adopt(id, false);
    else await bringHere(parts, id, false);
    return true;
  } catch (err) {
    if (parts.remote && isRegistryError(err, 'OWNED_ELSEWHERE')) return false;
    throw err;
  }
}

/**
 * Reads the stored status of an instance another process hosts again until
 * `done` holds (see `RemoteCalls.until`).
 *
 * @example
 * ```ts
 * await elsewhere(parts, id, (s) => s === undefined); // purged by its owner
 * ```
 */
export function elsewhere(
  parts: RegistryParts,
  id: string,
  done: (s: InstanceStatus | undefined) => boolean,
  options?: UntilOptions,
): Promise<InstanceStatus | undefined> {
  const { cluster, remote } = parts;
  if (!cluster || !remote)
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'Only a cluster store with an inbox reaches other processes.',
    );
  return remote.until(id, () => cluster.remoteStatus(id), done, options);
}
