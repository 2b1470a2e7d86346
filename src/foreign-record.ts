import { RegistryError } from './errors.js';
import { decodeRecord, instanceFromRecord } from './hydration.js';
import type { ResolvedMachine } from './machines.js';
import { type InstanceRecord, parseRecord, RECORD_FORMAT, safeJsonParse } from './record.js';
import { type InstanceStatus, statusOf, statusOfRecord } from './status.js';

// In a cluster, a stored record may belong to another process: one that runs a
// machine type or version this one lacks, or a newer xstate-registry. Such a
// record is described and left alone, never set aside as corrupt.

/**
 * Why this process cannot host a record another process can (unknown type,
 * newer machine version, newer record format), if so.
 *
 * @example
 * ```ts
 * const foreign = foreignRecord(text, machines);
 * if (foreign) throw foreign; // details.leftForAnotherProcess === true
 * ```
 */
export function foreignRecord(
  text: string,
  machines: Map<string, ResolvedMachine>,
): RegistryError | undefined {
  let record: InstanceRecord;
  try {
    record = parseRecord(text);
  } catch {
    return newerFormat(text);
  }
  const { id, type, machineVersion } = record;
  const def = machines.get(type);
  if (!def) {
    return new RegistryError(
      'UNKNOWN_MACHINE',
      `Instance '${id}' has type '${type}', which this process does not register; it is left untouched for a process that does (send the request there, or deploy the machine here).`,
      { details: { id, type, leftForAnotherProcess: true } },
    );
  }
  if (machineVersion > def.version) {
    return new RegistryError(
      'MIGRATION_FAILED',
      `Instance '${id}' was written by version ${machineVersion} of machine '${type}', newer than this process's version ${def.version}; it is left untouched for a process that runs version ${machineVersion} or later.`,
      {
        details: { id, type, machineVersion, version: def.version, leftForAnotherProcess: true },
      },
    );
  }
  return undefined;
}

/**
 * A status from a row, decodable here or not: a record of a type or version
 * only another process has is described from its envelope and snapshot.
 *
 * @example
 * ```ts
 * const status = statusOfStoredText(await store.read('order-1'), machines);
 * ```
 */
export function statusOfStoredText(
  text: string,
  machines: Map<string, ResolvedMachine>,
): InstanceStatus {
  let decoded: ReturnType<typeof decodeRecord>;
  try {
    decoded = decodeRecord(text, machines);
  } catch (err) {
    let record: InstanceRecord;
    try {
      record = parseRecord(text);
    } catch {
      throw newerFormat(text) ?? err;
    }
    return statusOfRecord(record);
  }
  return statusOf(instanceFromRecord(decoded), decoded.snapshot, decoded.record.timers);
}

const FORMAT = /^xstate-registry\/(\d+)$/;

/**
 * A record written by a newer xstate-registry (a record format after this one's):
 * during a rolling deploy of the library itself it belongs to the newer processes,
 * and setting it aside as corrupt here would take it from them.
 *
 * @example
 * ```ts
 * newerFormat('{"format":"xstate-registry/99","id":"a"}'); // MIGRATION_FAILED, leftForAnotherProcess
 * ```
 */
export function newerFormat(text: string): RegistryError | undefined {
  let raw: unknown;
  try {
    raw = safeJsonParse(text);
  } catch {
    return undefined;
  }
  const { format, id } = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const theirs = typeof format === 'string' ? FORMAT.exec(format)?.[1] : undefined;
  const ours = FORMAT.exec(RECORD_FORMAT)?.[1];
  if (theirs === undefined || ours === undefined || Number(theirs) <= Number(ours))
    return undefined;
  return new RegistryError(
    'MIGRATION_FAILED',
    `Instance ${JSON.stringify(id)} is stored in record format ${format}, written by a newer xstate-registry than this process runs (${RECORD_FORMAT}); it is left untouched for a process that runs the newer version.`,
    {
      details: {
        ...(typeof id === 'string' ? { id } : {}),
        format: String(format),
        leftForAnotherProcess: true,
      },
    },
  );
}
