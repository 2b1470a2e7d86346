import { RegistryError } from '../errors.js';
import type { Registry } from '../registry.js';
import type { InstanceStatus } from '../status.js';
import type { ChangeFeed } from './change-feed.js';
import { dashboardHtml } from './dashboard.js';
import { json } from './error-response.js';
import { eventStream } from './event-stream.js';
import { HttpError } from './http-error.js';
import { type HttpTarget, prefixTarget } from './http-target.js';
import { idempotentCreateId } from './idempotent-create.js';
import { decodeSegment, enumParam, intParam, listFilter } from './instance-path.js';
import { eventReply, longPoll } from './instance-replies.js';
import { opsRoute } from './ops-routes.js';
import { readJson } from './read-json.js';
import { streamFilter } from './stream-filter.js';
import type { StreamSlots } from './stream-slots.js';

export type { HttpTarget } from './http-target.js';

/**
 * What a request asks to do, as `authorize` sees it.
 *
 * @example
 * ```ts
 * const readOnly = (_request: Request, action: HttpAction) => action === 'read' || action === 'list';
 * ```
 */
export type HttpAction = 'create' | 'read' | 'list' | 'send' | 'stop' | 'purge' | 'dashboard';

/**
 * A matched request: what it asks to do and to which instance (for
 * `authorize`), and how to answer it once allowed.
 *
 * @example
 * ```ts
 * const route = matchRoute(ctx, request, '/instances/nightly', new URLSearchParams());
 * if (await authorize(request, route.action, route.target)) return route.run();
 * ```
 */
export interface Route {
  action: HttpAction;
  target: HttpTarget;
  run: () => Promise<Response>;
}

/**
 * What the routes need of the handler: its registry, its resolved options and
 * how it renders a status with its links.
 *
 * @example
 * ```ts
 * const ctx: RouteContext = { registry, maxBody, maxWait, withDashboard,  base, maxStream, streams, reserved, linked, created };
 * ```
 */
export interface RouteContext {
  registry: Registry<any>;
  maxBody: number;
  maxWait: number;
  withDashboard: boolean;
  base: string;
  maxStream: number;
  /** The open event streams' slots (one count per handler). */
  streams: StreamSlots;
  reserved: boolean;
  linked: (status: InstanceStatus) => InstanceStatus;
  created: (status: InstanceStatus) => Response;
  /** One feed for all of the handler's event streams: a change is read once, however many tabs. */
  feed: ChangeFeed;
}

/**
 * The routing table of the HTTP API: matches a request's method and raw path
 * (never the `Host`) to a {@link Route}; throws `ROUTE_NOT_FOUND` or
 * `METHOD_NOT_ALLOWED` (with the allowed methods) otherwise.
 *
 * @example
 * ```ts
 * const { action, target } = matchRoute(ctx, request, '/instances/job/nightly', new URLSearchParams());
 * // action 'create', target { type: 'job', id: 'nightly' }
 * ```
 */
export function matchRoute(
  ctx: RouteContext,
  request: Request,
  path: string,
  params: URLSearchParams,
): Route {
  const { registry, maxBody, maxWait, withDashboard, base, maxStream, reserved, linked, created } =
    ctx;
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
    const filter = streamFilter(params);
    return {
      action: 'dashboard',
      target: filter.id === undefined ? prefixTarget(filter.idPrefix) : { id: filter.id },
      run: async () =>
        eventStream(registry, ctx.feed, filter, linked, request, {
          maxQueuedBytes: maxStream,
          release: ctx.streams.take(),
        }),
    };
  }
  const ops = opsRoute(ctx, raw, method, params, allow);
  if (ops) return ops;
  if (raw[0] !== 'instances') throw notFound(path);
  const segments = raw.map(decodeSegment);

  // /instances
  if (raw.length === 1) {
    if (method !== 'GET' && method !== 'HEAD') allow('GET');
    const filter = listFilter(params);
    return {
      action: 'list',
      target: prefixTarget(filter.idPrefix),
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
        const input = (await body(false)) as { reason?: unknown } | null | undefined;
        // A body that is not { reason?: string } is refused: dropping it would
        // stop the instance without the reason the client sent. `null` (a
        // serializer's "nothing") is no body, and a null reason no reason.
        if (
          input != null &&
          (typeof input !== 'object' ||
            Array.isArray(input) ||
            (input.reason != null && typeof input.reason !== 'string'))
        )
          throw new RegistryError(
            'INVALID_ARGUMENT',
            'A stop takes no body, or {"reason": "..."} with a string reason.',
          );
        return json(
          200,
          linked(await registry.stop(id, (input?.reason ?? undefined) as string | undefined)),
        );
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
          const key = idempotencyKeyOf(request);
          if (key === undefined) {
            const actor = await registry.spawn(x, { input: await body(false) });
            return created((await registry.getStatus(actor.id)) as InstanceStatus);
          }
          // A retried create (its answer lost or timed out) gets the same instance: 201, then 200.
          const id = idempotentCreateId(x, key);
          const result = await registry.ensureSingleton(x, id, {
            input: await body(false),
            ifRunning: 'return',
            ifFinished: 'return',
          });
          return result.created
            ? created(result.status)
            : json(200, linked(result.status), { 'idempotent-replayed': 'true' });
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

function notFound(path: string): HttpError {
  return new HttpError(
    'ROUTE_NOT_FOUND',
    `No route for ${path}; see GET / for the dashboard and /instances for the API.`,
  );
}

/** A client retrying with the same `Idempotency-Key` never applies its event, or its create, twice. */
function idempotencyKeyOf(request: Request): string | undefined {
  return request.headers.get('idempotency-key') ?? undefined;
}
