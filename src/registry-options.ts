import type { InspectionEvent, Observer } from 'xstate';
import type { ActorHandle } from './actor-handle.js';
import { type Clock, systemClock } from './clock.js';
import { RegistryError } from './errors.js';
import { type HistoryConfig, type HistoryOptions, resolveHistory } from './history.js';
import { type IdempotencyOptions, resolveIdempotency } from './idempotency.js';
import { type MachineMap, type ResolvedMachine, resolveMachines } from './machines.js';
import type { InstanceStatus } from './status.js';
import { MemoryStore } from './stores/memory-store.js';
import type { Store } from './stores/store.js';
import type { TelemetryOptions } from './telemetry-options.js';

/**
 * When a change counts as done. `'relaxed'` (default): `send` resolves once the
 * actor has processed the event; the change is written shortly after, coalesced
 * with others, and `flush()` waits for it. `'strict'`: `send`, `spawnSingleton`,
 * `stop` resolve only once the resulting state is durable in the store.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ machines, durability: 'strict' });
 * ```
 */
export type Durability = 'relaxed' | 'strict';

/**
 * What {@link createRegistry} accepts.
 *
 * @example
 * ```ts
 * const options: RegistryOptions<typeof machines> = { machines, store: new FileStore({ dir: './data' }), idleTimeoutMs: 600_000 };
 * ```
 */
export interface RegistryOptions<M extends MachineMap> {
  /** Type name to machine. The type name is persisted; keep it stable. */
  machines: M;
  /** Where instances are kept. Default: a fresh in-memory store. */
  store?: Store;
  /** Drives every timer of every actor, and timestamps. Default: wall time. */
  clock?: Clock;
  durability?: Durability;
  /** Passed to every actor: XState inspection (e.g. the Stately inspector). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Passed to every actor as XState's `logger`; also where unheard registry errors go. */
  logger?: (...args: any[]) => void;
  /** Largest persisted record, in bytes. Default 16 MiB. */
  maxRecordBytes?: number;
  /** With strict durability: how many instances may wait for the store before `send` waits too. Default 10,000. */
  maxPendingWrites?: number;
  /**
   * Idle passivation: an actor with no activity for this long is persisted and
   * unloaded, and activated again on demand. Off (undefined) by default.
   */
  idleTimeoutMs?: number;
  /** With a cluster store (PostgreSQL): how often to look for instances whose owner died. Default 2,000 ms. */
  takeoverIntervalMs?: number;
  /**
   * Let `send` deliver XState's own event types (`xstate.*`), which stop actors,
   * fire timers early or forge failures. Default false: they throw `RESERVED_EVENT`.
   */
  allowReservedEvents?: boolean;
  /** How many idempotency keys each instance remembers, and for how long (see {@link SendOptions}). */
  idempotency?: IdempotencyOptions;
  /** Keep a bounded journal of each instance's transitions, read with `history()`. Off by default. */
  history?: HistoryOptions;
  /**
   * Metrics and traces through OpenTelemetry (`@opentelemetry/api`, an optional
   * peer dependency, loaded at `start()`): `true` for the global providers, or
   * your own. Off by default; a no-op when the API is not installed.
   */
  telemetry?: boolean | TelemetryOptions;
}

/**
 * Options of {@link Registry.send}.
 *
 * @example
 * ```ts
 * await registry.send('order-7', { type: 'PAY' }, { idempotencyKey: req.headers['idempotency-key'] });
 * ```
 */
export interface SendOptions {
  /**
   * Applies the event at most once per key and instance: a repeat within the
   * retention (`idempotency` option; default the last 100 keys, for 24 hours)
   * is not delivered again, and resolves like the first call once the state it
   * produced is durable (strict), so a client may retry a failed or lost answer.
   */
  idempotencyKey?: string;
  /**
   * Delivers only to an instance of this type (`TYPE_MISMATCH` otherwise), as
   * an `ActorHandle` does: an event meant for one machine never reaches another
   * that took its ID. Not checked for an instance another process hosts.
   */
  type?: string;
}

/**
 * Options of {@link Registry.spawnSingleton} and {@link Registry.ensureSingleton}.
 * The machine's `input` is added to them, required when the machine requires it
 * (see `CreateArgs`); it is applied only by the call that creates the instance.
 *
 * @example
 * ```ts
 * await registry.spawnSingleton('job', 'nightly', { input: { day }, ifFinished: 'replace' });
 * ```
 */
export interface SpawnSingletonOptions {
  /** When the instance is running: return it (default) or throw `INSTANCE_EXISTS`. */
  ifRunning?: 'return' | 'throw';
  /** When it is done, failed or stopped: return it (default), replace it with a fresh actor, or throw `INSTANCE_EXISTS`. */
  ifFinished?: 'return' | 'replace' | 'throw';
}

/**
 * What {@link Registry.ensureSingleton} resolves to.
 *
 * @example
 * ```ts
 * const { actor, created, status } = await registry.ensureSingleton('job', 'nightly');
 * ```
 */
export interface SingletonResult<TActor, THandle = ActorHandle, TStatus = InstanceStatus> {
  /**
   * The XState actor. For an instance another process hosts, it stays there:
   * this is a stand-in whose `send` is forwarded to the owner (see
   * {@link Registry.spawnSingleton}) and whose `getSnapshot()` is the last stored state.
   */
  actor: TActor;
  /**
   * A typed handle on the instance (`registry.actor(type, id)`): what works alike
   * whether this process hosts the instance or another one does.
   */
  handle: THandle;
  /** Whether this call created the actor (an HTTP layer answers 201 rather than 200). */
  created: boolean;
  status: TStatus;
}

/**
 * {@link RegistryOptions} checked, with every default filled in.
 *
 * @example
 * ```ts
 * const resolved = resolveOptions({ machines: { job } });
 * resolved.durability; // 'relaxed'
 * ```
 */
export interface ResolvedOptions {
  readonly machines: Map<string, ResolvedMachine>;
  readonly store: Store;
  readonly clock: Clock;
  readonly durability: Durability;
  readonly allowReserved: boolean;
  readonly inspect: RegistryOptions<MachineMap>['inspect'];
  /** The user's logger, if any: passed to actors only when given. */
  readonly actorLogger: ((...args: any[]) => void) | undefined;
  /** Where unheard registry errors go. */
  readonly logger: (...args: any[]) => void;
  readonly maxPending: number;
  readonly maxRecordBytes: number;
  readonly idempotency: Required<IdempotencyOptions>;
  readonly idleTimeoutMs: number | undefined;
  readonly takeoverIntervalMs: number;
  /** Shared by the machines that keep a history (also set on each as `def.history`). */
  readonly history: HistoryConfig | undefined;
  readonly telemetry: boolean | TelemetryOptions | undefined;
}

/**
 * Checks a registry's options and fills in the defaults; bad options throw
 * `INVALID_ARGUMENT` (or `UNKNOWN_MACHINE`-style errors from the machines) that
 * say what to pass instead.
 *
 * @example
 * ```ts
 * const { store, clock } = resolveOptions(options);
 * ```
 */
export function resolveOptions<M extends MachineMap>(options: RegistryOptions<M>): ResolvedOptions {
  if (!options || typeof options !== 'object') {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'createRegistry needs an options object with `machines`.',
    );
  }
  const machines = resolveMachines(options.machines);
  const store = options.store ?? new MemoryStore();
  const clock = options.clock ?? systemClock;
  // Checked here: a clock without these failed later, at start(), as a raw TypeError.
  const c = clock as Partial<Clock> | null;
  if (
    !c ||
    typeof c.now !== 'function' ||
    typeof c.setTimeout !== 'function' ||
    typeof c.clearTimeout !== 'function'
  ) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'clock must have now(), setTimeout() and clearTimeout() (a TestClock, or XState’s SimulatedClock).',
    );
  }
  const durability = options.durability ?? 'relaxed';
  const allowReserved = options.allowReservedEvents === true;
  if (durability !== 'relaxed' && durability !== 'strict') {
    throw new RegistryError('INVALID_ARGUMENT', "durability must be 'relaxed' or 'strict'.");
  }
  const logger = options.logger ?? console.error.bind(console);
  const maxPending = options.maxPendingWrites ?? 10_000;
  // 0 or less made every strict send wait for ever; NaN turned backpressure off.
  if (!(typeof maxPending === 'number' && maxPending >= 1)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'maxPendingWrites must be a number, 1 or more (Infinity: no backpressure).',
    );
  }
  if (options.logger !== undefined && typeof options.logger !== 'function') {
    throw new RegistryError('INVALID_ARGUMENT', 'logger must be a function.');
  }
  const maxRecordBytes = recordLimit(options.maxRecordBytes, store);
  const idempotency = resolveIdempotency(options.idempotency, maxRecordBytes);
  const idle = options.idleTimeoutMs;
  if (idle !== undefined && !(Number.isFinite(idle) && idle > 0)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'idleTimeoutMs must be a positive number of milliseconds.',
    );
  }
  // Its report is wired to the registry's emitter once there is one (assembleRegistry).
  const history = resolveHistory(options.history, clock, () => {}, maxRecordBytes);
  const historyTypes = options.history?.types;
  for (const type of historyTypes ?? []) {
    if (!machines.has(type))
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `history.types names '${type}', which is not a registered machine type; known types: ${[...machines.keys()].join(', ')}.`,
      );
  }
  for (const def of machines.values())
    if (history && (!historyTypes || historyTypes.includes(def.type))) def.history = history;
  return {
    machines,
    store,
    clock,
    durability,
    allowReserved,
    inspect: options.inspect,
    actorLogger: options.logger,
    logger,
    maxPending,
    maxRecordBytes,
    idempotency,
    idleTimeoutMs: idle,
    takeoverIntervalMs: takeoverInterval(options.takeoverIntervalMs),
    history,
    telemetry: options.telemetry,
  };
}

/**
 * The largest record the registry writes: `maxRecordBytes` (16 MiB by
 * default), and never more than the store loads back. A `maxRecordBytes` set
 * above the store's own limit is refused: those records would be written, then
 * set aside at the next start.
 */
function recordLimit(given: number | undefined, store: Store): number {
  if (given !== undefined && !(typeof given === 'number' && given > 0))
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'maxRecordBytes must be a positive number of bytes.',
      {
        details: { maxRecordBytes: given },
      },
    );
  const storeLimit = store.maxRecordBytes ?? Number.POSITIVE_INFINITY;
  if (!(storeLimit > 0))
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `The store's maxRecordBytes must be a positive number, got ${storeLimit}.`,
      { details: { storeLimit } },
    );
  if (given !== undefined && given > storeLimit) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `maxRecordBytes (${given}) is above the largest record the store loads back (${storeLimit} bytes); raise the store's limit too (FileStore's maxFileBytes), or lower maxRecordBytes.`,
      { details: { maxRecordBytes: given, storeLimit } },
    );
  }
  return Math.min(given ?? 16 * 1024 * 1024, storeLimit);
}

/** The sweep interval: NaN or 0 would sweep the table every millisecond. */
function takeoverInterval(ms: number | undefined): number {
  if (ms === undefined) return 2000;
  if (typeof ms !== 'number' || !(ms >= 10 && ms <= 2 ** 31 - 1))
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `takeoverIntervalMs must be a number of milliseconds from 10 to ${2 ** 31 - 1}, got ${String(ms)}.`,
    );
  return ms;
}
