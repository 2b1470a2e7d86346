import type { Clock } from './clock.js';
import { describeValue, RegistryError } from './errors.js';
import type { EventSource } from './event-source.js';
import { jsonViewText } from './json-view.js';

/**
 * Where the event behind a transition came from: `registry.send` (`'api'`),
 * the HTTP layer (`'http'`), a delayed event (`'timer'`), a child actor
 * (`'child'`), or `send` on the actor object itself (`'direct'`).
 *
 * @example
 * ```ts
 * const fromTimers = items.filter((e) => e.source === ('timer' satisfies HistorySource));
 * ```
 */
export type HistorySource = EventSource;

/**
 * One transition of an instance's root machine, as its history keeps it.
 * `event` is the event after the `redact` hook, as a JSON copy (a `Date` in it
 * reads back as its ISO string), so it reads the same before and after a restart.
 *
 * @example
 * ```ts
 * const { items } = await registry.history('order-7');
 * for (const e of items) console.log(new Date(e.at), e.source, e.event.type, e.before, '→', e.after);
 * ```
 */
export interface HistoryEntry {
  /** 1, 2, 3, ... per instance, never reused (also not after older entries were dropped). */
  seq: number;
  /** Epoch milliseconds on the registry's clock. */
  at: number;
  source: HistorySource;
  event: { type: string; [k: string]: unknown };
  /** State value before the transition. */
  before: unknown;
  /** State value after it. */
  after: unknown;
}

/**
 * The `history` option of `createRegistry`: keep a bounded journal of each
 * instance's transitions, stored in its record. Off when absent.
 *
 * @example
 * ```ts
 * createRegistry({ machines, history: { maxEntries: 50, maxAgeMs: 7 * 86_400_000,
 *   redact: (e) => ({ ...e, event: { type: e.event.type } }) } });
 * ```
 */
export interface HistoryOptions {
  /** How many entries each instance keeps, newest last. Default 100. */
  maxEntries?: number;
  /** Entries older than this (on the registry's clock) are dropped. Default: kept until `maxEntries` pushes them out. */
  maxAgeMs?: number;
  /** Rewrites each entry before it is kept (e.g. to drop secrets from the event's payload). */
  redact?: (entry: HistoryEntry) => HistoryEntry;
  /** Only instances of these machine types keep a history. Default: every type. */
  types?: readonly string[];
}

/**
 * A page of {@link HistoryEntry}s, oldest first, and the cursor of the next
 * page (`null` when this is the last).
 *
 * @example
 * ```ts
 * let page = await registry.history('order-7', { limit: 20 });
 * while (page.cursor) page = await registry.history('order-7', { cursor: page.cursor, limit: 20 });
 * ```
 */
export interface HistoryPage {
  items: HistoryEntry[];
  cursor: string | null;
}

/** {@link HistoryOptions} checked, with defaults, and the clock retention by age runs on. */
export interface HistoryConfig {
  maxEntries: number;
  /**
   * The most the journal of one instance takes in its record (UTF-8 bytes of
   * its entries): a quarter of `maxRecordBytes`, so it can never make the
   * state unwritable. The oldest entries go first.
   */
  maxBytes: number;
  maxAgeMs: number;
  redact: ((entry: HistoryEntry) => HistoryEntry) | undefined;
  clock: Clock;
  /** Reports a `redact` hook that threw (the entry is then kept with the event type only). */
  report: (error: RegistryError) => void;
}

const invalid = (message: string) => new RegistryError('INVALID_ARGUMENT', message);

/**
 * Checks the `history` option; `undefined` when history is off.
 *
 * @example
 * ```ts
 * const config = resolveHistory({ maxEntries: 20 }, clock, report, 16 * 1024 * 1024); // { maxEntries: 20, maxAgeMs: Infinity, ... }
 * ```
 */
export function resolveHistory(
  options: HistoryOptions | undefined,
  clock: Clock,
  report: (error: RegistryError) => void,
  maxRecordBytes = Number.POSITIVE_INFINITY,
): HistoryConfig | undefined {
  if (options === undefined) return undefined;
  if (!options || typeof options !== 'object')
    throw invalid('history must be an object such as { maxEntries: 100 }, or left out.');
  const { maxEntries = 100, maxAgeMs = Number.POSITIVE_INFINITY, redact } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw invalid('history.maxEntries must be a whole number of at least 1.');
  if (typeof maxAgeMs !== 'number' || Number.isNaN(maxAgeMs) || maxAgeMs <= 0)
    throw invalid('history.maxAgeMs must be a positive number of milliseconds.');
  if (redact !== undefined && typeof redact !== 'function')
    throw invalid('history.redact must be a function (entry) => entry.');
  if (
    options.types !== undefined &&
    (!Array.isArray(options.types) || options.types.some((t) => typeof t !== 'string'))
  )
    throw invalid('history.types must be an array of machine type names.');
  return { maxEntries, maxBytes: Math.floor(maxRecordBytes / 4), maxAgeMs, redact, clock, report };
}

/** The UTF-8 bytes of `entry` as JSON (what it adds to the record, give or take a comma). */
function sizeOf(entry: HistoryEntry): number {
  return Buffer.byteLength(JSON.stringify(entry));
}

/**
 * A JSON copy of a value (what a record can hold; `undefined` when there is
 * none), and its JSON text.
 */
function jsonCopyText(value: unknown): [unknown, string | undefined] {
  try {
    // As statuses show it, in bounded time (an event holding a shared
    // reference 22 levels deep blocked a send for 23 s here).
    const text = jsonViewText(value, false);
    return text === undefined ? [undefined, undefined] : [JSON.parse(text), text];
  } catch {
    // A cycle: the journal shows that there was a value, not the value.
    return ['[unserializable]', '"[unserializable]"'];
  }
}

/** The JSON of an entry without its six values (see {@link HistoryLog.add}'s size). */
const ENTRY_SHELL = '{"seq":,"at":,"source":"","event":,"before":,"after":}'.length;

/** What a record keeps of the history: the last sequence number given out, and the entries. */
export interface StoredHistory {
  seq: number;
  entries: HistoryEntry[];
}

/** The largest event payload an entry keeps (JSON characters); a larger one keeps its type only. */
export const MAX_EVENT_CHARS = 16 * 1024;

const SOURCES = new Set(['api', 'http', 'timer', 'child', 'direct']);

/**
 * Whether `value` is a well-formed stored history (checked when a record loads).
 *
 * @example
 * ```ts
 * if (!isStoredHistory(raw.history)) throw corrupt('malformed history');
 * ```
 */
export function isStoredHistory(value: unknown): value is StoredHistory {
  const h = value as Partial<StoredHistory> | null;
  // Safe integers only: past 2^53, seq + 1 no longer grows, seqs repeat, and
  // the next record of the instance would fail this very check.
  if (!h || typeof h !== 'object' || !Number.isSafeInteger(h.seq) || !Array.isArray(h.entries))
    return false;
  let previous = 0;
  for (const e of h.entries as Partial<HistoryEntry>[]) {
    if (
      !e ||
      typeof e !== 'object' ||
      !Number.isSafeInteger(e.seq) ||
      (e.seq as number) <= previous ||
      (e.seq as number) > (h.seq as number) ||
      typeof e.at !== 'number' ||
      !SOURCES.has(e.source as string) ||
      !e.event ||
      typeof e.event.type !== 'string'
    )
      return false;
    previous = e.seq as number;
  }
  return true;
}

/**
 * One instance's journal of transitions, bounded by count and age.
 * Internal: users read pages of it through `registry.history`.
 */
export class HistoryLog {
  entries: HistoryEntry[];
  seq: number;
  /** The root's state value as of the last transition (or hosting): the next entry's `before`. */
  last: unknown;
  /** The UTF-8 bytes of each entry as JSON (entries are never changed once kept), and their sum. */
  readonly #sizes: number[];
  #bytes = 0;

  constructor(stored?: StoredHistory) {
    this.entries = stored ? [...stored.entries] : [];
    this.seq = stored?.seq ?? 0;
    this.#sizes = this.entries.map(sizeOf);
    for (const size of this.#sizes) this.#bytes += size;
  }

  /** Journals a transition of the root to `after` caused by `event` from `source`. */
  add(config: HistoryConfig, source: HistorySource, event: { type: string }, after: unknown): void {
    // A journal that has given out every safe seq records no more (at a million
    // transitions a second, after 285 years): past it, seqs would repeat, and
    // the record would fail its own load check.
    if (this.seq >= Number.MAX_SAFE_INTEGER) return;
    let entry: HistoryEntry = {
      seq: this.seq + 1,
      at: config.clock.now(),
      source,
      event,
      before: this.last,
      after,
    };
    this.last = after;
    if (config.redact) {
      try {
        const redacted = config.redact({ ...entry, event: { ...event } });
        // seq, at and source are the journal's own: a record whose entry lacks them is refused at load.
        entry = { ...redacted, seq: entry.seq, at: entry.at, source };
        if (!entry.event || typeof entry.event.type !== 'string')
          throw new TypeError('it returned an entry without an event type');
      } catch (cause) {
        // Never keep what the hook was there to hide.
        entry = { ...entry, event: { type: String(event.type) } };
        config.report(
          new RegistryError(
            'LISTENER_FAILED',
            `The history redact hook failed (${(cause as Error)?.message ?? String(cause)}); the entry keeps only the event type. Fix the hook.`,
            { cause },
          ),
        );
      }
    }
    let eventText: string | undefined;
    [entry.event, eventText] = jsonCopyText(entry.event) as [HistoryEntry['event'], string];
    // A cycle or a getter that throws leaves no object with a type: keep the type alone.
    if (!entry.event || typeof entry.event !== 'object' || typeof entry.event.type !== 'string') {
      entry.event = { type: String(event.type) };
      eventText = JSON.stringify(entry.event);
    }
    // The journal is written with the state: one huge payload must not push the
    // record past maxRecordBytes and stop the instance's state from being stored.
    if (eventText.length > MAX_EVENT_CHARS) {
      entry.event = { type: String(entry.event.type).slice(0, 256), truncated: true };
      eventText = JSON.stringify(entry.event);
    }
    const [beforeCopy, beforeText = 'null'] = jsonCopyText(entry.before);
    const [afterCopy, afterText = 'null'] = jsonCopyText(entry.after);
    entry.before = beforeCopy ?? null;
    entry.after = afterCopy ?? null;
    // Without a redact hook the entry has exactly these six fields, so its size
    // is known from the texts made above (a hook may add fields: measured whole).
    let size = config.redact
      ? sizeOf(entry)
      : ENTRY_SHELL +
        String(entry.seq).length +
        String(entry.at).length +
        entry.source.length +
        Buffer.byteLength(eventText) +
        Buffer.byteLength(beforeText) +
        Buffer.byteLength(afterText);
    // Nor may many payloads under that cap together: an entry over the whole
    // journal's budget keeps its event type only.
    if (size > config.maxBytes) {
      entry = {
        ...entry,
        event: { type: String(entry.event.type).slice(0, 256), truncated: true },
      };
      size = sizeOf(entry);
    }
    this.seq = entry.seq;
    this.entries.push(entry);
    this.#sizes.push(size);
    this.#bytes += size;
    this.prune(config);
  }

  /** The UTF-8 bytes of the entries kept, as JSON (what the journal adds to the record, give or take commas). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Drops what is over the count, over the journal's bytes, or past the age; oldest first. */
  prune(config: HistoryConfig): void {
    const sizes = this.#sizes;
    let drop = Math.max(0, this.entries.length - config.maxEntries);
    let bytes = this.#bytes;
    for (let i = 0; i < drop; i++) bytes -= sizes[i] as number;
    while (drop < this.entries.length && bytes > config.maxBytes) bytes -= sizes[drop++] as number;
    if (config.maxAgeMs !== Number.POSITIVE_INFINITY) {
      const oldest = config.clock.now() - config.maxAgeMs;
      while (drop < this.entries.length && (this.entries[drop] as HistoryEntry).at < oldest)
        bytes -= sizes[drop++] as number;
    }
    if (drop) {
      this.entries.splice(0, drop);
      sizes.splice(0, drop);
    }
    this.#bytes = bytes;
  }

  /** What the record keeps, pruned as of now. */
  toJSON(config: HistoryConfig): StoredHistory {
    this.prune(config);
    return { seq: this.seq, entries: this.entries };
  }
}

/**
 * Checks `registry.history`'s paging options: `limit` 1..1000 (default 100),
 * `cursor` a sequence number handed out by an earlier page.
 *
 * @example
 * ```ts
 * const { after, limit } = historyPaging({ cursor: '42', limit: 10 }); // { after: 42, limit: 10 }
 * ```
 */
export function historyPaging(options: { cursor?: string | null; limit?: number } = {}): {
  after: number;
  limit: number;
} {
  const { cursor, limit = 100 } = options ?? {};
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalid('history limit must be a whole number from 1 to 1000.');
  if (cursor === undefined || cursor === null || cursor === '') return { after: 0, limit };
  if (typeof cursor !== 'string' || !/^\d{1,15}$/.test(cursor))
    throw invalid(
      `Unknown history cursor ${JSON.stringify(describeValue(cursor).slice(0, 100))}; pass the cursor of the previous page, or none for the first.`,
    );
  return { after: Number(cursor), limit };
}

/**
 * One page of `entries` (oldest first) after the sequence number `after`,
 * dropping those older than the retention allows as of now.
 *
 * @example
 * ```ts
 * historyPage(entries, { after: 0, limit: 10 }, config); // { items: [...10], cursor: '10' }
 * ```
 */
export function historyPage(
  entries: readonly HistoryEntry[],
  paging: { after: number; limit: number },
  config: HistoryConfig,
): HistoryPage {
  const oldest =
    config.maxAgeMs === Number.POSITIVE_INFINITY
      ? Number.NEGATIVE_INFINITY
      : config.clock.now() - config.maxAgeMs;
  const kept = entries.filter((e) => e.seq > paging.after && e.at >= oldest);
  const items = kept.slice(0, paging.limit).map((e) => ({ ...e }));
  const last = items[items.length - 1];
  return { items, cursor: kept.length > paging.limit && last ? String(last.seq) : null };
}
