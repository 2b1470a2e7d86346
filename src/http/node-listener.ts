import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FetchHandler } from './create-http-handler.js';

/**
 * Adapts a Fetch handler to `node:http`'s `(req, res)`, so it mounts in a plain
 * Node server, Express (`app.use('/api', listener)`) or Fastify (via middie).
 * Bodies stream both ways; a client that disconnects aborts the request signal.
 *
 * @example
 * ```ts
 * createServer(toNodeListener(createHttpHandler(registry))).listen(3000, '127.0.0.1');
 * ```
 */
export function toNodeListener(
  handler: FetchHandler,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const host = req.headers.host ?? '127.0.0.1';
    const url = `http://${host}${req.url ?? '/'}`;
    const headers = new Headers();
    for (const [key, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(key, v);
      else if (value !== undefined) headers.set(key, value);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    let request: Request;
    try {
      request = new Request(url, {
        method: req.method ?? 'GET',
        headers,
        signal: controller.signal,
        ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
      } as RequestInit);
    } catch {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ error: { code: 'INVALID_ARGUMENT', message: 'Malformed request.' } }),
        );
      return;
    }
    handler(request)
      .then(async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers));
        if (!response.body || req.method === 'HEAD') return void res.end();
        const reader = response.body.getReader();
        res.on('close', () => void reader.cancel().catch(() => {}));
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (!res.write(value)) await new Promise((r) => res.once('drain', r));
        }
        res.end();
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end();
      });
  };
}
