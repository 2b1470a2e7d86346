import { RegistryError } from '../errors.js';
import type { Registry } from '../registry.js';
import type { InstanceStatus } from '../status.js';
import { ChangeFeed } from './change-feed.js';
import { assertNotSimple, type CorsOptions, crossSiteGuard } from './cross-site-guard.js';
import { errorResponse, json, publicStatus } from './error-response.js';
import { HttpError } from './http-error.js';
import { type HttpAction, type HttpTarget, matchRoute, type RouteContext } from './http-routes.js';
import { encodeInstanceId } from './instance-path.js';
import { probe } from './instance-replies.js';
import { StreamSlots } from './stream-slots.js';

/**
 * Decides whether a request may do `action`: `true` allows it; `false` (or
 * anything else) answers 403 `FORBIDDEN`; a `Response` is answered as it is
 * (a 401 with `WWW-Authenticate`, a redirect to a login page...).
 *
 * @example
 * ```ts
 * const authorize: Authorize = (request, action) =>
 *   action === 'read' || action === 'list' || request.headers.get('x-api-key') === process.env.API_KEY;
 * ```
 */
export type Authorize = (
  request: Request,
  action: HttpAction,
  target: HttpTarget,
) => boolean | Response | undefined | Promise<boolean | Response | undefined>;

/**
 * The options of {@link createHttpHandler}; every one has a default.
 *
 * @example
 * ```ts
 * const handler = createHttpHandler(registry, { authorize, maxWaitMs: 30_000, basePath: '/registry' });
 * ```
 */
export interface HttpHandlerOptions {
  /**
   * Called for every request but the health probes, before its body is read.
   * Without it every action is allowed, which is why the default `allowedHosts`
   * admits loopback names only: bind to 127.0.0.1, or pass `authorize`.
   */
  authorize?: Authorize;
  /** Other origins whose pages may call the API (with CORS preflights). Default: none. */
  cors?: CorsOptions;
  /**
   * Host names requests may be addressed to (`Host` header), against DNS rebinding;
   * `'*'` for any. Default: `localhost`, `*.localhost`, `127.0.0.1`, `[::1]`.
   */
  allowedHosts?: readonly string[] | '*';
  /** The absolute URL the API is reachable at, e.g. `https://ops.example.com/registry`; links are relative without it. */
  publicUrl?: string;
  /** Largest accepted request body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Longest `?waitMs=` long poll honoured, in ms. Default 60,000. */
  maxWaitMs?: number;
  /** Serve the HTML dashboard at `GET /` (and its event stream at `GET /events`). Default true. */
  dashboard?: boolean;
  /** How far one event-stream client may fall behind before it is dropped, in bytes. Default 256 KiB. */
  maxStreamBufferBytes?: number;
  /**
   * How many event streams (dashboard tabs) may be open at once; past it,
   * `GET /events` answers 503 `TOO_MANY_STREAMS` with `Retry-After: 5`. Each
   * may hold `maxStreamBufferBytes`, so this bounds their memory. Default 200;
   * `Infinity` for no cap.
   */
  maxEventStreams?: number;
  /**
   * Accept XState's own event types (`xstate.*`) over HTTP. Default false: they
   * answer 400 `RESERVED_EVENT`, even when the registry itself allows them.
   */
  allowReservedEvents?: boolean;
  /** Serve error stacks in statuses (for development). Default false: no stacks, paths masked. */
  exposeErrors?: boolean;
  /**
   * The path prefix the handler is mounted under. It is stripped from request
   * paths that start with it (Hono's `basePath`, a Fetch server) and prefixed to
   * the links it hands out (also when a framework strips it, like Express's `app.use`).
   */
  basePath?: string;
}

/**
 * A status with the URLs of its instance's operations, like Durable Functions' check-status response.
 *
 * @example
 * ```ts
 * const body = (await (await fetch(`${base}/instances/nightly`)).json()) as StatusWithLinks;
 * await fetch(body.links.stop, { method: 'POST', headers: { 'x-requested-with': 'fetch' } });
 * ```
 */
export interface StatusWithLinks extends InstanceStatus {
  links: { status: string; sendEvent: string; stop: string; purge: string };
}

/**
 * A Fetch API request handler.
 *
 * @example
 * ```ts
 * const handler: FetchHandler = createHttpHandler(registry);
 * Bun.serve({ fetch: handler });
 * ```
 */
export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * The registry's HTTP management API as a Fetch handler: mount it in Node
 * (`toNodeListener`), Hono, Bun, Deno or anything that speaks `Request`/`Response`.
 * Routes are matched on the raw path (never the `Host`); IDs travel percent-encoded
 * ({@link encodeInstanceId}). Every request passes the cross-site checks (allowed
 * hosts, origin, JSON or `X-Requested-With` for state changes) and `authorize`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createHttpHandler, toNodeListener } from 'xstate-registry/http';
 *
 * createServer(toNodeListener(createHttpHandler(registry))).listen(3000, '127.0.0.1');
 * // curl -X POST localhost:3000/instances/job/nightly -H 'content-type: application/json' -d '{"steps":3}'
 * ```
 */
export function createHttpHandler(
  registry: Registry<any>,
  options: HttpHandlerOptions = {},
): FetchHandler {
  // NaN compared false with everything: no body was too large, no client too slow.
  const maxBody = sizeOption(options, 'maxBodyBytes', 1024 * 1024, 0);
  const maxWait = sizeOption(options, 'maxWaitMs', 60_000, 0);
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const linkBase = (options.publicUrl ?? base).replace(/\/+$/, '');
  const withDashboard = options.dashboard ?? true;
  // Below 64 bytes not even a reload notice fits, and every client is dropped.
  const maxStream = sizeOption(options, 'maxStreamBufferBytes', 256 * 1024, 64);
  const streams = new StreamSlots(options.maxEventStreams ?? 200);
  const exposeErrors = options.exposeErrors === true;
  const authorize = options.authorize;
  const reserved = options.allowReservedEvents === true;
  const guard = crossSiteGuard({
    cors: options.cors,
    allowedHosts: options.allowedHosts,
    publicOrigin: options.publicUrl === undefined ? undefined : new URL(options.publicUrl).origin,
  });

  const linked = (status: InstanceStatus): StatusWithLinks => {
    const self = `${linkBase}/instances/${encodeInstanceId(status.id)}`;
    return {
      ...publicStatus(status, exposeErrors),
      links: { status: self, sendEvent: `${self}/events`, stop: `${self}/stop`, purge: self },
    };
  };
  const created = (status: InstanceStatus) =>
    json(201, linked(status), {
      location: `${linkBase}/instances/${encodeInstanceId(status.id)}`,
    });

  const routes: RouteContext = {
    registry,
    maxBody,
    maxWait,
    withDashboard,
    base,
    maxStream,
    streams,
    reserved,
    linked,
    created,
    feed: new ChangeFeed(registry),
  };

  return async (request) => hardened(await answer(request));

  async function answer(request: Request): Promise<Response> {
    let corsHeaders: Record<string, string> = {};
    try {
      const url = new URL(request.url);
      let path = url.pathname;
      if (base && (path === base || path.startsWith(`${base}/`)))
        path = path.slice(base.length) || '/';
      const health =
        request.method === 'GET' || request.method === 'HEAD'
          ? await probe(registry, path)
          : undefined;
      if (health) return health;
      const outcome = guard(request);
      if ('preflight' in outcome) return outcome.preflight;
      corsHeaders = outcome.headers;
      const route = matchRoute(routes, request, path, url.searchParams);
      assertNotSimple(request);
      if (authorize) {
        const verdict = await authorize(request, route.action, route.target);
        if (verdict instanceof Response) return verdict;
        if (verdict !== true)
          throw new HttpError(
            'FORBIDDEN',
            `This request may not ${route.action}${route.target.id ? ` instance '${route.target.id}'` : ''}.`,
            { details: { action: route.action } },
          );
      }
      return withHeaders(await route.run(), corsHeaders);
    } catch (err) {
      const allowHeader = (err as { allow?: string }).allow;
      return errorResponse(err, { ...corsHeaders, ...(allowHeader ? { allow: allowHeader } : {}) });
    }
  }
}

/** A whole number option of at least `min`, or its default; throws `INVALID_ARGUMENT`. */
function sizeOption(
  options: HttpHandlerOptions,
  name: 'maxBodyBytes' | 'maxWaitMs' | 'maxStreamBufferBytes',
  fallback: number,
  min: number,
): number {
  const value = options[name] ?? fallback;
  if (Number.isSafeInteger(value) && value >= min) return value;
  throw new RegistryError(
    'INVALID_ARGUMENT',
    `createHttpHandler(): ${name} must be a whole number of at least ${min}; got ${String(value)}.`,
    { details: { option: name } },
  );
}

/**
 * Every answer: never sniffed as another type (a status holds what clients
 * sent), and never cached (statuses change, and may be private), unless the
 * route said otherwise.
 */
function hardened(response: Response): Response {
  const mark = (headers: Headers) => {
    if (!headers.has('x-content-type-options')) headers.set('x-content-type-options', 'nosniff');
    if (!headers.has('cache-control')) headers.set('cache-control', 'no-store');
  };
  try {
    mark(response.headers);
    return response;
  } catch {
    // An `authorize` hook's answer with immutable headers (`Response.redirect`,
    // an auth server's `fetch` answer passed on): marked on a copy.
    if (response.status < 200 || response.bodyUsed) return response;
    const copy = new Response(response.body, response);
    // fetch() decoded the body: its length and coding no longer describe it.
    for (const name of ['content-encoding', 'content-length', 'transfer-encoding'])
      copy.headers.delete(name);
    mark(copy.headers);
    return copy;
  }
}

export type { HttpAction, HttpTarget } from './http-routes.js';
export { encodeInstanceId };

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [key, value] of Object.entries(headers)) response.headers.set(key, value);
  return response;
}
