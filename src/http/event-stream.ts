import type { Registry } from '../registry.js';
import type { InstanceStatus } from '../status.js';
import type { StatusCounts } from '../status-tally.js';
import type { ChangeBatch, ChangeFeed } from './change-feed.js';
import { matchesStream, rowSummary, type StreamFilter } from './stream-filter.js';

const KEEPALIVE_MS = 15_000;
/** Past this many IDs leaving the filter in one batch, the stream says "reload" instead. */
const MAX_REMOVED = 1000;

/** The queues of the open event streams in this process, for {@link eventStreamStats}. */
const open = new Set<ReadableStreamDefaultController<Uint8Array>>();
let dropped = 0;
/** The requests of the open streams, kept alive while they stream (see {@link eventStream}). */
const streaming = new Set<Request>();

/**
 * Gauges of the dashboard's event streams in this process: bytes queued for
 * clients that have not read them yet, and clients dropped for not reading.
 *
 * @example
 * ```ts
 * eventStreamStats(); // { queuedBytes: 0, dropped: 0 }
 * ```
 */
export function eventStreamStats(): { clients: number; queuedBytes: number; dropped: number } {
  let queuedBytes = 0;
  // With a byte-length strategy and a high-water mark of 0, -desiredSize is the bytes queued.
  for (const controller of open) queuedBytes -= controller.desiredSize ?? 0;
  return { clients: open.size, queuedBytes, dropped };
}

/**
 * What one batch tells a stream with `filter`, or `undefined` when nothing it shows changed.
 *
 * @example
 * ```ts
 * streamMessage(batch, { limit: 50, statuses: new Set(['running']) }, (s) => s, counts);
 * // { changed: [rowSummary...], removed: ['order-7'], counts }
 * ```
 */
export function streamMessage(
  batch: ChangeBatch,
  filter: StreamFilter,
  view: (status: InstanceStatus) => InstanceStatus,
  counts: StatusCounts | undefined,
): object | undefined {
  if (batch.overflow) return { reload: true, ...(counts ? { counts } : {}) };
  const shown: InstanceStatus[] = [];
  const removed: string[] = [];
  for (const [id, status] of batch.statuses) {
    if (status && matchesStream(status, filter)) shown.push(status);
    // Only a new status (or a purge) takes an instance out of a filter it matched,
    // and only one the filter's ID, prefix and types select: any other ID is
    // none of this stream's business (its client may not be allowed to see it).
    else if (inScope(id, batch.statusChanged.get(id), filter)) removed.push(id);
  }
  if (shown.length === 0 && removed.length === 0) return undefined;
  if (removed.length > MAX_REMOVED) return { reload: true, ...(counts ? { counts } : {}) };
  // Newest first: a tab on its first page shows the newest `limit`, and older ones fall below it.
  // Ties break by ID, descending, as `list({ order: 'updated' })` does.
  const key = (s: InstanceStatus) => `${s.updatedAt}\u0000${s.id}`;
  shown.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
  const changed = shown
    .slice(0, filter.limit)
    .map((s) => (filter.id !== undefined ? view(s) : rowSummary(view(s))));
  return { changed, removed, ...(counts ? { counts } : {}) };
}

const data = (message: object) => `data: ${JSON.stringify(message)}\n\n`;

/**
 * Whether `filter` selects an ID that had one of `types` whatever its status
 * (false without types: its status did not change).
 */
function inScope(id: string, types: Set<string> | undefined, filter: StreamFilter): boolean {
  if (types === undefined) return false;
  if (filter.id !== undefined && filter.id !== id) return false;
  if (filter.idPrefix !== undefined && !id.startsWith(filter.idPrefix)) return false;
  if (filter.types === undefined) return true;
  for (const type of types) if (filter.types.has(type)) return true;
  return false;
}

/**
 * Counts per batch and count filter, shared by every stream that shows them;
 * keyed by the batch's `statuses`, the one object every subscriber is handed.
 */
const shared = new WeakMap<object, Map<string, Promise<StatusCounts | undefined>>>();

/**
 * The counts a stream with `filter` shows after `batch`, or `undefined` when
 * it shows none (one instance's page) or none of the instances they count
 * changed (the tab's counts still hold). Read once per batch for all the
 * streams with the same count filter: before, every stream read its own at
 * every batch, so a few hundred idle tabs with an ID prefix walked the
 * prefix's instances hundreds of times per batch and stalled the server.
 *
 * @example
 * ```ts
 * const counts = await countsFor(registry, batch, { limit: 50, idPrefix: 'acme/' });
 * ```
 */
export function countsFor(
  registry: Registry<any>,
  batch: ChangeBatch,
  filter: StreamFilter,
): Promise<StatusCounts | undefined> {
  if (filter.id !== undefined || (!batch.overflow && !touchesCounts(batch, filter)))
    return Promise.resolve(undefined);
  const types = filter.types ? [...filter.types].sort() : undefined;
  const key = JSON.stringify([types ?? null, filter.idPrefix ?? null]);
  let byFilter = shared.get(batch.statuses);
  if (!byFilter) {
    byFilter = new Map();
    shared.set(batch.statuses, byFilter);
  }
  let counts = byFilter.get(key);
  if (!counts) {
    counts = registry
      .counts({
        ...(types ? { type: types } : {}),
        ...(filter.idPrefix ? { idPrefix: filter.idPrefix } : {}),
      })
      .catch(() => undefined);
    byFilter.set(key, counts);
  }
  return counts;
}

/** Whether `batch` changed an instance the stream's counts count (a purged one may have been). */
function touchesCounts(batch: ChangeBatch, filter: StreamFilter): boolean {
  for (const [id, status] of batch.statuses) {
    if (filter.idPrefix && !id.startsWith(filter.idPrefix)) continue;
    if (filter.types && status && !filter.types.has(status.type)) continue;
    return true;
  }
  return false;
}

/**
 * A server-sent event stream of what changed, for one dashboard tab: each
 * message carries the changed statuses themselves (a row's summary, or the full
 * status on an instance page) for the instances the tab's filter selects, the
 * IDs that left it, and the counts per status, batched at most every 100 ms,
 * so a tab never needs a request per change. At most `limit` statuses per
 * message, newest-updated first (`{"reload":true}` when a batch is huge). Each
 * client may fall `maxQueuedBytes` behind. A message that does not fit in what
 * is left of that (an instance page whose context is megabytes) goes as a
 * `reload` notice, and the tab reads what changed with a request: before, it
 * dropped even a client that read everything, at every change. A client that
 * has read nothing since its last notice is dropped at the next change that
 * does not fit, so one that never reads costs bounded memory, and its slot.
 *
 * @example
 * ```ts
 * const release = slots.take();
 * const response = eventStream(registry, feed, filter, view, request, { maxQueuedBytes: 256 * 1024, release });
 * ```
 */
export function eventStream(
  registry: Registry<any>,
  feed: ChangeFeed,
  filter: StreamFilter,
  view: (status: InstanceStatus) => InstanceStatus,
  request: Request,
  limits: {
    maxQueuedBytes: number;
    /** Gives back the stream's slot in its handler's count when it ends, however it ends. */
    release: () => void;
  },
): Response {
  const { maxQueuedBytes, release } = limits;
  // Held until the stream ends: Node's Request follows the client's hang-up
  // through a weak reference, lost (and the stream's slot with it) once the
  // Request is collected, which a server that keeps only the body allows.
  streaming.add(request);
  const signal = request.signal;
  const encoder = new TextEncoder();
  let keepalive: ReturnType<typeof setInterval> | undefined;
  let unsubscribe: (() => void) | undefined;
  let finished = false;
  let self: ReadableStreamDefaultController<Uint8Array> | undefined;

  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        self = controller;
        open.add(controller);
        // Bytes enqueued in all; less those still queued, the bytes the client read.
        let enqueued = 0;
        // What the client had read when it was last sent a notice in place of a
        // message (-1: never): one that has read nothing since gets no second one.
        let readAtNotice = -1;
        /** Sends `text`, or `notice` in its place when `text` would not fit in the client's buffer. */
        const send = (text: string, notice?: string) => {
          if (finished) return;
          let bytes = encoder.encode(text);
          // With a byte-length strategy and a high-water mark of 0, -desiredSize is the bytes queued.
          const queued = -(controller.desiredSize ?? 0);
          let fits = queued + bytes.byteLength <= maxQueuedBytes;
          const read = enqueued - queued;
          if (!fits && notice !== undefined && read > readAtNotice) {
            bytes = encoder.encode(notice);
            fits = queued + bytes.byteLength <= maxQueuedBytes;
            readAtNotice = read;
          }
          if (!fits) {
            // The client stopped reading: end its stream rather than buffer without bound.
            dropped++;
            cleanup();
            try {
              controller.error(new Error('event-stream client too slow'));
            } catch {}
            return;
          }
          try {
            controller.enqueue(bytes);
            enqueued += bytes.byteLength;
          } catch {
            cleanup();
          }
        };
        // Counts are read at once, but messages leave in batch order: a count that
        // answers late must not let an older status overwrite a newer one in the tab.
        let ordered = Promise.resolve();
        unsubscribe = feed.subscribe((batch) => {
          const counts = countsFor(registry, batch, filter);
          ordered = ordered
            .then(() => counts)
            .then((c) => {
              const message = streamMessage(batch, filter, view, c);
              if (message) send(data(message), data({ reload: true, ...(c ? { counts: c } : {}) }));
            });
        });
        keepalive = setInterval(() => send(': keepalive\n\n'), KEEPALIVE_MS);
        send('retry: 2000\n\n');
        if (signal.aborted) {
          cleanup();
          controller.close();
          return;
        }
        signal.addEventListener('abort', () => {
          cleanup();
          try {
            controller.close();
          } catch {}
        });
      },
      cancel() {
        cleanup();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
  );

  function cleanup() {
    if (finished) return;
    finished = true;
    unsubscribe?.();
    if (keepalive) clearInterval(keepalive);
    if (self) open.delete(self);
    streaming.delete(request);
    release();
  }

  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    },
  });
}
