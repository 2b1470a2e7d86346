import type { Registry } from '../registry.js';
import type { RegistryEventName } from '../registry-events.js';

const WATCHED: RegistryEventName[] = [
  'spawned',
  'restored',
  'transition',
  'done',
  'failed',
  'stopped',
  'purged',
];
const BATCH_MS = 100;
const KEEPALIVE_MS = 15_000;
/** Past this many changed IDs in one batch, the stream says "reload" instead of listing them. */
const MAX_IDS = 500;

/** The queues of the open event streams in this process, for {@link eventStreamStats}. */
const open = new Set<ReadableStreamDefaultController<Uint8Array>>();
let dropped = 0;

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
 * A server-sent event stream of which instances changed: `data: {"ids":[...]}`
 * at most every 100 ms, however fast actors transition, so a busy registry
 * cannot flood a browser (`{"reload":true}` when a batch would be huge). Each
 * client may fall `maxQueuedBytes` behind; one that stops reading past that is
 * dropped, so a client that never reads costs bounded memory.
 *
 * @example
 * ```ts
 * const response = eventStream(registry, request.signal, 256 * 1024);
 * ```
 */
export function eventStream(
  registry: Registry<any>,
  signal: AbortSignal,
  maxQueuedBytes: number,
): Response {
  const encoder = new TextEncoder();
  const changed = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let keepalive: ReturnType<typeof setInterval> | undefined;
  let onEvent: (payload: { id: string }) => void = () => {};
  let finished = false;
  let self: ReadableStreamDefaultController<Uint8Array> | undefined;

  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        self = controller;
        open.add(controller);
        const send = (text: string) => {
          if (finished) return;
          const bytes = encoder.encode(text);
          if (bytes.byteLength - (controller.desiredSize ?? 0) > maxQueuedBytes) {
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
          } catch {
            cleanup();
          }
        };
        const flush = () => {
          timer = undefined;
          if (changed.size === 0) return;
          send(
            changed.size > MAX_IDS
              ? 'data: {"reload":true}\n\n'
              : `data: ${JSON.stringify({ ids: [...changed] })}\n\n`,
          );
          changed.clear();
        };
        onEvent = ({ id }) => {
          if (changed.size <= MAX_IDS) changed.add(id);
          timer ??= setTimeout(flush, BATCH_MS);
        };
        for (const name of WATCHED) registry.on(name, onEvent as never);
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
    for (const name of WATCHED) registry.off(name, onEvent as never);
    if (timer) clearTimeout(timer);
    if (keepalive) clearInterval(keepalive);
    timer = undefined;
    if (self) open.delete(self);
  }

  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    },
  });
}
