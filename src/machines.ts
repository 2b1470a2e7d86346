import type { AnyStateMachine } from 'xstate';
import { RegistryError } from './errors.js';
import type { HistoryConfig } from './history.js';

/**
 * Upgrades a persisted snapshot written by an older version of a machine.
 * Receives the XState persisted snapshot and the version it was written with;
 * returns the snapshot for the current version. Throwing quarantines the record.
 *
 * @example
 * ```ts
 * const migrate: SnapshotMigration = (snapshot, from) => from === 1 ? { ...snapshot, context: { ...snapshot.context, retries: 0 } } : snapshot;
 * ```
 */
export type SnapshotMigration = (snapshot: any, fromVersion: number) => unknown;

/**
 * A machine with the version its persisted snapshots are tagged with, and an
 * optional migration for snapshots from older versions.
 *
 * @example
 * ```ts
 * const machines = {
 *   job: { machine: jobMachine, version: 2, migrate: (s, from) => from === 1 ? upgrade(s) : s },
 * } satisfies MachineMap;
 * ```
 */
export interface VersionedMachine<TMachine extends AnyStateMachine = AnyStateMachine> {
  machine: TMachine;
  /** A positive integer, raised whenever persisted snapshots change shape. Default 1. */
  version?: number;
  migrate?: SnapshotMigration;
}

/**
 * What `createRegistry({ machines })` accepts per type name: a machine, or a {@link VersionedMachine}.
 *
 * @example
 * ```ts
 * const def: MachineDefinition = { machine: jobMachine, version: 2 };
 * ```
 */
export type MachineDefinition = AnyStateMachine | VersionedMachine;

/**
 * The machine of a {@link MachineDefinition}.
 *
 * @example
 * ```ts
 * type Job = MachineOf<typeof machines.job>; // the machine, versioned or not
 * ```
 */
export type MachineOf<D> =
  D extends VersionedMachine<infer M> ? M : D extends AnyStateMachine ? D : never;

/**
 * A registry's machines map: type name to definition.
 *
 * @example
 * ```ts
 * const machines = { job: jobMachine, order: { machine: orderMachine, version: 3 } } satisfies MachineMap;
 * ```
 */
export type MachineMap = Record<string, MachineDefinition>;

/** A machine definition in the one shape the registry works with. */
export interface ResolvedMachine {
  type: string;
  machine: AnyStateMachine;
  version: number;
  migrate?: SnapshotMigration;
  /** Set when instances of this type keep a history (the registry's `history` option). */
  history?: HistoryConfig;
}

function isVersioned(def: MachineDefinition): def is VersionedMachine {
  return typeof def === 'object' && def !== null && 'machine' in def && !('config' in def);
}

/**
 * Validates a machines map once, up front, so a typo fails at `createRegistry`
 * rather than at the first spawn.
 */
export function resolveMachines(machines: MachineMap): Map<string, ResolvedMachine> {
  if (!machines || typeof machines !== 'object') {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'createRegistry needs `machines`: an object mapping type names to XState machines.',
    );
  }
  const out = new Map<string, ResolvedMachine>();
  for (const [type, def] of Object.entries(machines)) {
    // A record names its type, and one with an empty name is refused at load:
    // every instance of such a type was written, then set aside at the next start.
    if (type === '') {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        "machines has a type named '' (the empty string); give every machine type a non-empty name.",
        { details: { type } },
      );
    }
    const machine = isVersioned(def) ? def.machine : def;
    if (!machine || typeof (machine as AnyStateMachine).transition !== 'function') {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `machines.${type} is not an XState machine; pass the result of createMachine() or setup().createMachine().`,
        { details: { type } },
      );
    }
    const version = isVersioned(def) ? (def.version ?? 1) : 1;
    if (!Number.isInteger(version) || version < 1) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        `machines.${type}.version must be a positive integer, got ${String(version)}.`,
        { details: { type } },
      );
    }
    const resolved: ResolvedMachine = { type, machine, version };
    if (isVersioned(def) && def.migrate) resolved.migrate = def.migrate;
    out.set(type, resolved);
  }
  return out;
}
