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

/**
 * A server-sent event stream of which instances changed: `data: {"ids":[...]}`
 * at most every 100 ms, however fast actors transition, so a busy registry
 * cannot flood a browser. The dashboard re-reads those instances' statuses.
 */
export function eventStream(registry: Registry<any>, signal: AbortSignal): Response {
  const encoder = new TextEncoder();
  const changed = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let keepalive: ReturnType<typeof setInterval> | undefined;
  let onEvent: (payload: { id: string }) => void = () => {};

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          cleanup();
        }
      };
      const flush = () => {
        timer = undefined;
        if (changed.size === 0) return;
        send(`data: ${JSON.stringify({ ids: [...changed] })}\n\n`);
        changed.clear();
      };
      onEvent = ({ id }) => {
        changed.add(id);
        timer ??= setTimeout(flush, BATCH_MS);
      };
      for (const name of WATCHED) registry.on(name, onEvent as never);
      keepalive = setInterval(() => send(': keepalive\n\n'), KEEPALIVE_MS);
      send('retry: 2000\n\n');
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
  });

  function cleanup() {
    for (const name of WATCHED) registry.off(name, onEvent as never);
    if (timer) clearTimeout(timer);
    if (keepalive) clearInterval(keepalive);
    timer = undefined;
  }

  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    },
  });
}
