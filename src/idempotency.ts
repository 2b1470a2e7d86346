import { RegistryError } from './errors.js';
import { isValidInstanceId } from './instance-id.js';

/**
 * How long an instance remembers the idempotency keys of the events it applied.
 * Both bounds hold: the oldest keys are forgotten first.
 *
 * @example
 * ```ts
 * createRegistry({ machines, idempotency: { maxKeys: 500, retentionMs: 7 * 24 * 3600_000 } });
 * ```
 */
export interface IdempotencyOptions {
  /** Most keys remembered per instance. Default 100. */
  maxKeys?: number;
  /** Keys older than this (on the registry's clock) are forgotten. Default 24 hours. */
  retentionMs?: number;
}

/**
 * A remembered key and when its event was applied (epoch ms on the registry's clock), as persisted.
 *
 * @example
 * ```ts
 * const entry: IdempotencyEntry = ['request-42', Date.UTC(2026, 10, 27)];
 * ```
 */
export type IdempotencyEntry = [key: string, appliedAt: number];

/**
 * The idempotency keys one instance has applied, oldest first, bounded by
 * count and age. It is persisted in the instance's record, so a key applied
 * before a restart, a passivation or a takeover is still known after it.
 *
 * @example
 * ```ts
 * const bounds = resolveIdempotency({ maxKeys: 100 });
 * const log = new IdempotencyLog(record.idempotencyKeys);
 * if (!log.has('pay-7', now, bounds)) { log.add('pay-7', now, bounds); actor.send(event); }
 * ```
 */
export class IdempotencyLog {
  readonly #keys = new Map<string, number>();
  /**
   * Keys of mail applied to the instance but not yet deleted from the inbox
   * (its delete failed): kept past `maxKeys` and the retention until it is,
   * or the next try would apply that mail again. In memory only: the record
   * written meanwhile keeps them, so a new owner finds them there.
   */
  #pinned: Set<string> | undefined;

  constructor(entries: readonly IdempotencyEntry[] = []) {
    for (const [key, at] of entries) this.#keys.set(key, at);
  }

  /** Whether `key` was applied within the retention (forgetting what fell out of it). */
  has(key: string, now: number, bounds: Required<IdempotencyOptions>): boolean {
    this.#expire(now - bounds.retentionMs);
    return this.#keys.has(key);
  }

  /**
   * Whether `key` is in the log at all, however old: for mail still in the
   * inbox, whose key in a record proves it was applied there (the retention
   * bounds what a client may repeat, not how long a crashed owner's undeleted
   * mail may wait for the next owner).
   */
  holds(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Remembers `key` as applied at `now`, forgetting the oldest keys beyond the bounds. */
  add(key: string, now: number, bounds: Required<IdempotencyOptions>): void {
    this.#keys.delete(key);
    this.#keys.set(key, now);
    this.#expire(now - bounds.retentionMs);
    for (const oldest of this.#keys.keys()) {
      if (this.#keys.size <= bounds.maxKeys) break;
      if (!this.#pinned?.has(oldest)) this.#keys.delete(oldest);
    }
  }

  /** Keeps `key` (applied from mail not yet deleted) until {@link unpin}: see `#pinned`. */
  pin(key: string): void {
    this.#pinned ??= new Set();
    this.#pinned.add(key);
  }

  unpin(key: string): void {
    this.#pinned?.delete(key);
    if (this.#pinned?.size === 0) this.#pinned = undefined;
  }

  /** Whether some key waits for its mail to be deleted (the instance must stay hosted here until then). */
  get pinned(): boolean {
    return this.#pinned !== undefined;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** The entries to persist, oldest first. */
  toJSON(): IdempotencyEntry[] {
    return [...this.#keys];
  }

  #expire(cutoff: number): void {
    // Map order is application order, so the oldest come first.
    for (const [key, at] of this.#keys) {
      if (at > cutoff) break;
      if (!this.#pinned?.has(key)) this.#keys.delete(key);
    }
  }
}

/** The largest persisted key entry: 256 characters of up to 3 UTF-8 bytes, quotes, a time and separators. */
const MAX_ENTRY_BYTES = 256 * 3 + 32;

/**
 * Resolves {@link IdempotencyOptions} to their defaults; `INVALID_ARGUMENT` when out of range.
 *
 * @example
 * ```ts
 * resolveIdempotency({ maxKeys: 500 }, 16 * 1024 * 1024); // { maxKeys: 500, retentionMs: 86_400_000 }
 * ```
 */
export function resolveIdempotency(
  options: IdempotencyOptions = {},
  maxRecordBytes = Number.POSITIVE_INFINITY,
): Required<IdempotencyOptions> {
  // The default shrinks to fit a small record limit; an explicit maxKeys is checked below.
  const maxKeys =
    options.maxKeys ?? Math.max(1, Math.min(100, Math.floor(maxRecordBytes / 2 / MAX_ENTRY_BYTES)));
  const retentionMs = options.retentionMs ?? 86_400_000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1)
    throw new RegistryError('INVALID_ARGUMENT', 'idempotency.maxKeys must be a positive integer.');
  if (!(retentionMs > 0))
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'idempotency.retentionMs must be a positive number of milliseconds.',
    );
  // The keys travel in every write of the instance: if they could fill the record
  // limit, every later write (unkeyed sends and close() included) would fail.
  if (options.maxKeys !== undefined && maxKeys * MAX_ENTRY_BYTES > maxRecordBytes / 2)
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `idempotency.maxKeys (${maxKeys}) of keys up to ${MAX_ENTRY_BYTES} bytes each could take more than half of maxRecordBytes (${maxRecordBytes}); lower maxKeys to at most ${Math.floor(maxRecordBytes / 2 / MAX_ENTRY_BYTES)} or raise maxRecordBytes.`,
      { details: { maxKeys, maxRecordBytes } },
    );
  return { maxKeys, retentionMs };
}

/**
 * Checks an idempotency key: a string of 1 to 256 characters without control
 * characters (the rules of instance IDs); `INVALID_ARGUMENT` otherwise.
 *
 * @example
 * ```ts
 * assertIdempotencyKey(request.headers.get('idempotency-key'));
 * ```
 */
export function assertIdempotencyKey(key: unknown): asserts key is string {
  if (!isValidInstanceId(key)) {
    throw new RegistryError(
      'INVALID_ARGUMENT',
      'An idempotency key must be a string of 1 to 256 characters without control characters, e.g. a UUID per request.',
      { details: { idempotencyKey: typeof key === 'string' ? key.slice(0, 300) : typeof key } },
    );
  }
}

/**
 * Checks the persisted form of an idempotency log (part of record validation).
 *
 * @example
 * ```ts
 * if (record.idempotencyKeys !== undefined && !isIdempotencyEntries(record.idempotencyKeys)) throw corrupt();
 * ```
 */
export function isIdempotencyEntries(value: unknown): value is IdempotencyEntry[] {
  return (
    Array.isArray(value) &&
    value.every(
      (e) =>
        Array.isArray(e) &&
        e.length === 2 &&
        typeof e[0] === 'string' &&
        typeof e[1] === 'number' &&
        Number.isFinite(e[1]),
    )
  );
}
