import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { RegistryError } from '../errors.js';
import { utf8Type } from './body-charset.js';
import type { FetchHandler } from './create-http-handler.js';
import { errorResponse } from './error-response.js';
import { HttpError } from './http-error.js';

/** What Express, Koa or Fastify leave on a request once a body parser has read it. */
type ParsedRequest = IncomingMessage & { body?: unknown; originalUrl?: string };

/**
 * Adapts a Fetch handler to `node:http`'s `(req, res)`, so it mounts in a plain
 * Node server, Express (`app.use('/api', listener)`) or Fastify (a hijacked route; see examples/fastify-app.ts).
 * Bodies stream both ways; a client that disconnects aborts the request signal.
 *
 * The request URL is built from the request path alone, under a fixed
 * `http://localhost` origin: the `Host` header never takes part in routing
 * (it is passed on as a header, for the handler's allowed-hosts check). A body
 * that a parser such as `express.json()` already read is passed on from
 * `req.body`; a body some other middleware consumed fails with `BODY_CONSUMED`.
 *
 * @example
 * ```ts
 * createServer(toNodeListener(createHttpHandler(registry))).listen(3000, '127.0.0.1');
 * ```
 */
export function toNodeListener(
  handler: FetchHandler | ((request: Request) => Response | Promise<Response>),
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req: ParsedRequest, res) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const headers = new Headers();
    for (const [key, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(key, v);
      else if (value !== undefined) headers.set(key, value);
    }
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    let request: Request;
    try {
      const body = hasBody ? bodyOf(req, headers) : undefined;
      request = new Request(`http://localhost${pathOf(req.url ?? '/')}`, {
        method,
        headers,
        signal: controller.signal,
        ...(body === undefined ? {} : { body, duplex: 'half' }),
      } as RequestInit);
    } catch (err) {
      void send(
        res,
        errorResponse(
          err instanceof RegistryError
            ? err
            : new RegistryError(
                'INVALID_ARGUMENT',
                'Malformed request: check its method and headers.',
              ),
        ),
        method,
        req,
      );
      return;
    }
    Promise.resolve()
      .then(() => handler(request))
      .then((response) => send(res, response, method, req))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end();
      });
  };
}

async function send(
  res: ServerResponse,
  response: Response,
  method: string,
  req: IncomingMessage,
): Promise<void> {
  const headers: Record<string, string | string[]> = Object.fromEntries(response.headers);
  // Iterated, several Set-Cookie headers are several entries: only the last was kept.
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 1) headers['set-cookie'] = cookies;
  // Answered before the body was read (too large, wrong type, no route...): once
  // the body is handed to a web stream, Node no longer discards what is left of
  // it, so the next request on this connection would never be read. Closing
  // the connection after the answer keeps the client's next request off it.
  if (!req.complete) headers.connection = 'close';
  if (response.statusText) res.statusMessage = response.statusText;
  res.writeHead(response.status, headers);
  if (!response.body || method === 'HEAD') return void res.end();
  const reader = response.body.getReader();
  res.on('close', () => void reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await drainedOrClosed(res);
    }
    res.end();
  } catch {
    // The body failed (an event-stream client dropped for not reading): cut the connection.
    res.destroy();
  }
}

/**
 * Resolves when `res` drains or closes, removing both listeners either way:
 * a long-lived stream (the dashboard's event stream) waits here once per full
 * socket buffer, and a listener left behind each time would grow without bound
 * (Node warned with MaxListenersExceededWarning after ten).
 */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * The path and query of a request target. An absolute-form target
 * (`GET http://other/x HTTP/1.1`) keeps only its path, so no part of the
 * routing can come from anything but the path.
 */
function pathOf(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    return `/${target}`;
  }
}

function bodyOf(req: ParsedRequest, headers: Headers): RequestInit['body'] | undefined {
  // A body parser ran before us: the stream is spent, the result is on req.body.
  if (req.readableDidRead || req.readableEnded) {
    const parsed = req.body;
    if (parsed === undefined) {
      if (
        req.headers['content-length'] === '0' ||
        (req.headers['content-length'] === undefined && !req.headers['transfer-encoding'])
      )
        return undefined;
      throw new HttpError(
        'BODY_CONSUMED',
        'Another middleware read the request body before the registry: mount the registry before body parsers, or use express.json() so the parsed body is on req.body.',
      );
    }
    headers.delete('content-length');
    headers.delete('transfer-encoding');
    if (parsed instanceof Uint8Array) return parsed as RequestInit['body'];
    // The parser decoded the body in its declared charset: passed on as text, it is UTF-8 now.
    const type = headers.get('content-type');
    if (type !== null) headers.set('content-type', utf8Type(type));
    return typeof parsed === 'string' ? parsed : JSON.stringify(parsed);
  }
  return Readable.toWeb(req) as unknown as RequestInit['body'];
}
