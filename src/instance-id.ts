import { describeValue, RegistryError } from './errors.js';

/**
 * The longest instance ID accepted, in UTF-16 code units (JavaScript string length).
 *
 * @example
 * ```ts
 * if (id.length > MAX_INSTANCE_ID_LENGTH) return new Response('ID too long', { status: 400 });
 * ```
 */
export const MAX_INSTANCE_ID_LENGTH = 256;

// C0 controls and DEL: they break logs, file names and HTTP paths, and no real
// caller means them. Everything else (slashes, dots, spaces, any Unicode) is an ID.
// A loop over at most MAX_INSTANCE_ID_LENGTH units: cheaper than a regex call
// for the short IDs of every spawn, send and record read.
function hasControl(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
// A lone surrogate (not well-formed Unicode): stores encode IDs as UTF-8, where
// every lone surrogate becomes U+FFFD and two different IDs would share one record.
// String.prototype.isWellFormed (Node 20+) is the check, without a unicode-mode
// regex run on every new ID.
const wellFormed = (id: string) => (id as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * A checked instance ID. Internal: the public API takes plain strings and
 * checks them into this at the boundary ({@link toInstanceId}); the brand keeps
 * an ID apart from a store's own entry name (`StoreKey`), which may differ from it.
 *
 * @example
 * ```ts
 * const id: InstanceId = toInstanceId(req.params.id);
 * ```
 */
export type InstanceId = string & { readonly __instanceId: true };

/**
 * Checks an instance ID and returns it, or throws `INVALID_INSTANCE_ID`.
 * The public face of {@link toInstanceId}.
 * Valid: any string of 1 to 256 characters without control characters
 * (U+0000 to U+001F, U+007F) and without lone surrogates (not well-formed
 * Unicode); slashes, dots, `..`, spaces and any Unicode are fine.
 *
 * @example
 * ```ts
 * assertInstanceId('tenant/42/nightly'); // 'tenant/42/nightly'
 * assertInstanceId('');                  // throws RegistryError INVALID_INSTANCE_ID
 * ```
 */
export function assertInstanceId(id: unknown): string {
  return toInstanceId(id);
}

/**
 * Checks an instance ID (see {@link assertInstanceId}) and brands it as an
 * {@link InstanceId}; throws `INVALID_INSTANCE_ID`.
 *
 * @example
 * ```ts
 * const instance = new Instance(toInstanceId(id), def, clock.now());
 * ```
 */
export function toInstanceId(id: unknown): InstanceId {
  if (typeof id !== 'string') {
    throw new RegistryError(
      'INVALID_INSTANCE_ID',
      `Instance ID must be a string, got ${id === null ? 'null' : typeof id}.`,
      { details: { id: describeValue(id) } },
    );
  }
  if (id.length === 0 || id.length > MAX_INSTANCE_ID_LENGTH) {
    throw new RegistryError(
      'INVALID_INSTANCE_ID',
      `Instance ID must be 1 to ${MAX_INSTANCE_ID_LENGTH} characters long, got ${id.length}.`,
      { details: { length: id.length } },
    );
  }
  if (hasControl(id)) {
    throw new RegistryError(
      'INVALID_INSTANCE_ID',
      'Instance ID must not contain control characters (U+0000 to U+001F, U+007F).',
      { details: { id: JSON.stringify(id) } },
    );
  }
  if (!wellFormed(id)) {
    throw new RegistryError(
      'INVALID_INSTANCE_ID',
      'Instance ID must be well-formed Unicode: it has a lone surrogate (half of a UTF-16 pair), which stores cannot tell apart from other IDs. Check how the ID was built (e.g. a string cut in the middle of an emoji).',
      { details: { id: JSON.stringify(id) } },
    );
  }
  return id as InstanceId;
}

/**
 * Whether `id` is a valid instance ID (see {@link assertInstanceId}).
 *
 * @example
 * ```ts
 * isValidInstanceId('../etc/passwd'); // true: IDs are names, never paths
 * ```
 */
export function isValidInstanceId(id: unknown): id is string {
  try {
    assertInstanceId(id);
    return true;
  } catch {
    return false;
  }
}
