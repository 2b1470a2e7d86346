import { RegistryError } from '../errors.js';
import type { Registry } from '../registry.js';
import type { InstanceStatus } from '../status.js';
import { assertNotSimple, type CorsOptions, crossSiteGuard } from './cross-site-guard.js';
import { dashboardHtml } from './dashboard.js';
import { errorResponse, json, publicStatus } from './error-response.js';
import { eventStream } from './event-stream.js';
import { HttpError } from './http-error.js';
import {
  decodeSegment,
  encodeInstanceId,
  enumParam,
  intParam,
  listFilter,
} from './instance-path.js';
import { eventReply, longPoll, probe } from './instance-replies.js';
import { readJson } from './read-json.js';

/** What a request asks to do, as `authorize` sees it. */
export type HttpAction = 'create' | 'read' | 'list' | 'send' | 'stop' | 'purge' | 'dashboard';

/** The instance a request is about, when it is about one. */
export interface HttpTarget {
  id?: string;
  type?: string;
}

/**
 * Decides whether a request may do `action`: `true` allows it; `false` (or
 * anything else) answers 403 `FORBIDDEN`; a `Response` is answered as it is
 * (a 401 with `WWW-Authenticate`, a redirect to a login page...).
 */
export type Authorize = (
  request: Request,
  action: HttpAction,
  target: HttpTarget,
) => boolean | Response | undefined | Promise<boolean | Response | undefined>;

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

/** A status with the URLs of its instance's operations, like Durable Functions' check-status response. */
export interface StatusWithLinks extends InstanceStatus {
  links: { status: string; sendEvent: string; stop: string; purge: string };
}

/** A Fetch API request handler. */
export type FetchHandler = (request: Request) => Promise<Response>;

interface Route {
  action: HttpAction;
  target: HttpTarget;
  run: () => Promise<Response>;
}

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
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const maxWait = options.maxWaitMs ?? 60_000;
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const linkBase = (options.publicUrl ?? base).replace(/\/+$/, '');
  const withDashboard = options.dashboard ?? true;
  const maxStream = options.maxStreamBufferBytes ?? 256 * 1024;
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

  function match(request: Request, path: string, params: URLSearchParams): Route {
    const method = request.method.toUpperCase();
    // Raw segments: %2F inside an ID must not split it.
    const raw = path.replace(/^\/+/, '').split('/');
    const allow = (methods: string): never => {
      throw Object.assign(
        new HttpError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${methods}.`),
        { allow: methods },
      );
    };
    const body = (required: boolean) => readJson(request, maxBody, required);

    if (path === '/' || path === '') {
      if (!withDashboard) throw notFound(path);
      if (method !== 'GET' && method !== 'HEAD') allow('GET');
      return {
        action: 'dashboard',
        target: {},
        run: async () =>
          new Response(dashboardHtml(base), {
            headers: {
              'content-type': 'text/html; charset=utf-8',
              'cache-control': 'no-store',
              'content-security-policy':
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
              'x-frame-options': 'DENY',
            },
          }),
      };
    }
    if (raw.length === 1 && raw[0] === 'events' && withDashboard) {
      if (method !== 'GET') allow('GET');
      return {
        action: 'dashboard',
        target: {},
        run: async () => eventStream(registry, request.signal, maxStream),
      };
    }
    if (raw[0] !== 'instances') throw notFound(path);
    const segments = raw.map(decodeSegment);

    // /instances
    if (raw.length === 1) {
      if (method !== 'GET' && method !== 'HEAD') allow('GET');
      const filter = listFilter(params);
      return {
        action: 'list',
        target: {},
        run: async () => {
          const page = await registry.list(filter);
          return json(200, {
            items: page.items.map(linked),
            ...(page.cursor ? { cursor: page.cursor } : {}),
          });
        },
      };
    }
    // /instances/{id}/history (a GET; a POST there creates instance 'history' of type {id}).
    if (raw.length === 3 && raw[2] === 'history' && (method === 'GET' || method === 'HEAD')) {
      const id = segments[1] as string;
      const limit = params.get('limit');
      return {
        action: 'read',
        target: { id },
        run: async () =>
          json(
            200,
            await registry.history(id, {
              cursor: params.get('cursor'),
              ...(limit === null ? {} : { limit: Number(limit) }),
            }),
          ),
      };
    }
    // /instances/{id}/events and /instances/{id}/stop: literal last segment wins.
    if (raw.length === 3 && (raw[2] === 'events' || raw[2] === 'stop')) {
      const id = segments[1] as string;
      if (method !== 'POST') allow('POST');
      if (raw[2] === 'events') {
        return {
          action: 'send',
          target: { id },
          run: async () =>
            eventReply(registry, id, await body(true), linked, reserved, idempotencyKeyOf(request)),
        };
      }
      return {
        action: 'stop',
        target: { id },
        run: async () => {
          const input = (await body(false)) as { reason?: unknown } | undefined;
          const reason =
            input && typeof input === 'object' && typeof input.reason === 'string'
              ? input.reason
              : undefined;
          return json(200, linked(await registry.stop(id, reason)));
        },
      };
    }
    // /instances/{x}: GET/DELETE an instance {x}, or POST a new instance of type {x}.
    if (raw.length === 2) {
      const x = segments[1] as string;
      if (method === 'GET' || method === 'HEAD') {
        const waitMs = intParam(params, 'waitMs', 0, maxWait);
        return {
          action: 'read',
          target: { id: x },
          run: () => longPoll(registry, x, waitMs, request.signal, linked),
        };
      }
      if (method === 'DELETE') {
        const force = params.get('force') === 'true';
        return {
          action: 'purge',
          target: { id: x },
          run: async () => {
            await registry.purge(x, { force });
            return new Response(null, { status: 204 });
          },
        };
      }
      if (method === 'POST') {
        return {
          action: 'create',
          target: { type: x },
          run: async () => {
            const actor = await registry.spawn(x, { input: await body(false) });
            return created((await registry.getStatus(actor.id)) as InstanceStatus);
          },
        };
      }
      allow('GET, POST, DELETE');
    }
    // /instances/{type}/{id}
    if (raw.length === 3) {
      if (method !== 'POST') allow('POST');
      const [type, id] = [segments[1] as string, segments[2] as string];
      const ifRunning = enumParam(params, 'ifRunning', ['throw', 'return'] as const) ?? 'throw';
      const ifFinished =
        enumParam(params, 'ifFinished', ['replace', 'return', 'throw'] as const) ?? 'replace';
      return {
        action: 'create',
        target: { type, id },
        run: async () => {
          const input = await body(false);
          try {
            const result = await registry.ensureSingleton(type, id, {
              input,
              ifRunning,
              ifFinished,
            });
            return result.created ? created(result.status) : json(200, linked(result.status));
          } catch (err) {
            if (err instanceof RegistryError && err.code === 'INSTANCE_EXISTS') {
              // The seed's 409, with the existing instance's status so the caller can follow it.
              const existing = await registry.getStatus(id);
              return json(409, {
                error: { code: err.code, message: err.message },
                ...(existing ? { instance: linked(existing) } : {}),
              });
            }
            throw err;
          }
        },
      };
    }
    throw notFound(path);
  }

  return async (request) => {
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
      const route = match(request, path, url.searchParams);
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
  };
}

export { encodeInstanceId };

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [key, value] of Object.entries(headers)) response.headers.set(key, value);
  return response;
}

function notFound(path: string): HttpError {
  return new HttpError(
    'ROUTE_NOT_FOUND',
    `No route for ${path}; see GET / for the dashboard and /instances for the API.`,
  );
}

/** A client retrying with the same `Idempotency-Key` never applies its event twice. */
function idempotencyKeyOf(request: Request): string | undefined {
  return request.headers.get('idempotency-key') ?? undefined;
}
