import { RegistryError } from '../errors.js';
import type { ListFilter } from '../list-query.js';
import { safeJsonParse } from '../record.js';
import type { Registry } from '../registry.js';
import type { InstanceStatus } from '../status.js';
import { dashboardHtml } from './dashboard.js';
import { errorResponse, json } from './error-response.js';
import { eventStream } from './event-stream.js';

export interface HttpHandlerOptions {
  /** Largest accepted request body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Longest `?waitMs=` long poll honoured, in ms. Default 60,000. */
  maxWaitMs?: number;
  /** Serve the HTML dashboard at `GET /` (and its event stream at `GET /events`). Default true. */
  dashboard?: boolean;
  /**
   * The path prefix the handler is mounted under, for the URLs it hands out
   * (`Location`, status links) when a framework strips it from the request.
   */
  basePath?: string;
}

/** A status with the URLs of its instance's operations, like Durable Functions' check-status response. */
export interface StatusWithLinks extends InstanceStatus {
  links: { status: string; sendEvent: string; stop: string; purge: string };
}

/** A Fetch API request handler. */
export type FetchHandler = (request: Request) => Promise<Response>;

const FINISHED = ['done', 'error', 'stopped'] as const;

/**
 * The registry's HTTP management API as a Fetch handler: mount it in Node
 * (`toNodeListener`), Hono, Bun, Deno or anything that speaks `Request`/`Response`.
 * Routes are matched on the raw path; IDs travel percent-encoded ({@link encodeInstanceId}),
 * so any valid ID (slashes, spaces, Unicode, even `..`) round-trips, and an instance may even be called
 * `events` or `stop` if one of its characters is encoded (`%65vents`).
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
  const withDashboard = options.dashboard ?? true;

  const linked = (origin: string, status: InstanceStatus): StatusWithLinks => {
    const self = `${origin}${base}/instances/${encodeInstanceId(status.id)}`;
    return {
      ...status,
      links: { status: self, sendEvent: `${self}/events`, stop: `${self}/stop`, purge: self },
    };
  };

  async function route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const origin = url.origin;
    const method = request.method.toUpperCase();
    // Raw segments: %2F inside an ID must not split it.
    const raw = url.pathname.replace(/^\/+/, '').split('/');
    const segments = raw.map((s) => decode(s));
    const allow = (methods: string) => {
      throw Object.assign(
        new RegistryError(
          'METHOD_NOT_ALLOWED',
          `${method} is not allowed on ${url.pathname}; use ${methods}.`,
        ),
        { allow: methods },
      );
    };

    if (url.pathname === '/' || url.pathname === '') {
      if (!withDashboard) throw notFound(url.pathname);
      if (method !== 'GET' && method !== 'HEAD') allow('GET');
      return new Response(dashboardHtml(base), {
        headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
      });
    }
    if (raw.length === 1 && raw[0] === 'events' && withDashboard) {
      if (method !== 'GET') allow('GET');
      return eventStream(registry, request.signal);
    }
    if (raw[0] !== 'instances') throw notFound(url.pathname);

    // /instances
    if (raw.length === 1) {
      if (method !== 'GET') allow('GET');
      const page = await registry.list(listFilter(url.searchParams));
      return json(200, {
        items: page.items.map((s) => linked(origin, s)),
        ...(page.cursor ? { cursor: page.cursor } : {}),
      });
    }
    // /instances/{id}/events and /instances/{id}/stop: literal last segment wins.
    if (raw.length === 3 && (raw[2] === 'events' || raw[2] === 'stop')) {
      const id = segments[1] as string;
      if (method !== 'POST') allow('POST');
      if (raw[2] === 'events') {
        const event = await readJson(request, maxBody, true);
        // A client retrying with the same Idempotency-Key never applies the event twice.
        const idempotencyKey = request.headers.get('idempotency-key') ?? undefined;
        await registry.send(
          id,
          event as never,
          idempotencyKey === undefined ? {} : { idempotencyKey },
        );
        return json(202, { accepted: true, links: linked(origin, { id } as InstanceStatus).links });
      }
      const body = (await readJson(request, maxBody, false)) as { reason?: unknown } | undefined;
      const reason =
        body && typeof body === 'object' && typeof body.reason === 'string'
          ? body.reason
          : undefined;
      return json(200, linked(origin, await registry.stop(id, reason)));
    }
    // /instances/{x}: GET/DELETE an instance {x}, or POST a new instance of type {x}.
    if (raw.length === 2) {
      const x = segments[1] as string;
      if (method === 'GET' || method === 'HEAD') {
        const waitMs = intParam(url.searchParams, 'waitMs', 0, maxWait);
        const status = await getStatus(registry, x, waitMs);
        if (!status)
          throw new RegistryError('INSTANCE_NOT_FOUND', `No instance '${x}'.`, {
            details: { id: x },
          });
        return json(200, linked(origin, status));
      }
      if (method === 'DELETE') {
        await registry.purge(x, { force: url.searchParams.get('force') === 'true' });
        return new Response(null, { status: 204 });
      }
      if (method === 'POST') {
        const input = await readJson(request, maxBody, false);
        const actor = await registry.spawn(x, { input });
        return created(origin, (await registry.getStatus(actor.id)) as InstanceStatus);
      }
      allow('GET, POST, DELETE');
    }
    // /instances/{type}/{id}
    if (raw.length === 3) {
      if (method !== 'POST') allow('POST');
      const [type, id] = [segments[1] as string, segments[2] as string];
      const ifRunning =
        enumParam(url.searchParams, 'ifRunning', ['throw', 'return'] as const) ?? 'throw';
      const ifFinished =
        enumParam(url.searchParams, 'ifFinished', ['replace', 'return', 'throw'] as const) ??
        'replace';
      const input = await readJson(request, maxBody, false);
      try {
        const result = await registry.ensureSingleton(type, id, { input, ifRunning, ifFinished });
        return result.created
          ? created(origin, result.status)
          : json(200, linked(origin, result.status));
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'INSTANCE_EXISTS') {
          // The seed's 409, with the existing instance's status so the caller can follow it.
          const existing = await registry.getStatus(id);
          return json(409, {
            error: { code: err.code, message: err.message },
            ...(existing ? { instance: linked(origin, existing) } : {}),
          });
        }
        throw err;
      }
    }
    throw notFound(url.pathname);
  }

  function created(origin: string, status: InstanceStatus): Response {
    const body = linked(origin, status);
    return json(201, body, { location: `${base}/instances/${encodeInstanceId(status.id)}` });
  }

  return async (request) => {
    try {
      return await route(request);
    } catch (err) {
      const allowHeader = (err as { allow?: string }).allow;
      return errorResponse(err, allowHeader ? { allow: allowHeader } : {});
    }
  };
}

function notFound(path: string): RegistryError {
  return new RegistryError(
    'ROUTE_NOT_FOUND',
    `No route for ${path}; see GET / for the dashboard and /instances for the API.`,
  );
}

/**
 * Encodes an instance ID as one URL path segment. `encodeURIComponent`, except
 * for the IDs `.` and `..`: URL parsers remove those segments (even as `%2E`),
 * so they travel as `~.` and `~..`, and the IDs `~.` and `~..` as `%7E.` and `%7E..`.
 *
 * @example
 * ```ts
 * fetch(`${base}/instances/${encodeInstanceId('tenant/42')}`); // /instances/tenant%2F42
 * ```
 */
export function encodeInstanceId(id: string): string {
  if (id === '.' || id === '..') return `~${id}`;
  if (id === '~.' || id === '~..') return `%7E${id.slice(1)}`;
  return encodeURIComponent(id);
}

function decode(segment: string): string {
  if (segment === '~.' || segment === '~..') return segment.slice(1);
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RegistryError(
      'INVALID_INSTANCE_ID',
      'The path has malformed percent-encoding; encode IDs with encodeURIComponent.',
    );
  }
}

async function getStatus(
  registry: Registry<any>,
  id: string,
  waitMs: number,
): Promise<InstanceStatus | undefined> {
  const status = await registry.getStatus(id);
  if (!status || waitMs <= 0 || status.status !== 'running') return status;
  try {
    return await registry.waitFor(id, [...FINISHED], { timeoutMs: waitMs });
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'TIMEOUT') return registry.getStatus(id);
    throw err;
  }
}

function intParam(params: URLSearchParams, name: string, min: number, max: number): number {
  const value = params.get(name);
  if (value === null) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `?${name} must be a whole number of at least ${min}.`,
    );
  return Math.min(n, max);
}

function enumParam<T extends string>(
  params: URLSearchParams,
  name: string,
  values: readonly T[],
): T | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!values.includes(value as T))
    throw new RegistryError('INVALID_ARGUMENT', `?${name} must be one of ${values.join(', ')}.`);
  return value as T;
}

function listFilter(params: URLSearchParams): ListFilter {
  const filter: ListFilter = {};
  const statuses = params
    .getAll('status')
    .flatMap((s) => s.split(','))
    .filter(Boolean);
  if (statuses.length) filter.status = statuses as ListFilter['status'] & string[];
  const types = params
    .getAll('type')
    .flatMap((s) => s.split(','))
    .filter(Boolean);
  if (types.length) filter.type = types;
  for (const key of ['createdFrom', 'createdTo', 'updatedFrom', 'updatedTo'] as const) {
    const v = params.get(key);
    if (v !== null) filter[key] = /^\d+$/.test(v) ? Number(v) : v;
  }
  const limit = params.get('limit');
  if (limit !== null) filter.limit = Number(limit);
  const cursor = params.get('cursor');
  if (cursor !== null) filter.cursor = cursor;
  return filter;
}

/**
 * Reads a JSON body within `maxBytes`. An empty body is `undefined` unless
 * `required`. Keys named `__proto__` are dropped: machines often copy event
 * payloads into context with `assign`, which would otherwise re-parent it.
 */
async function readJson(request: Request, maxBytes: number, required: boolean): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const text = await readText(request, maxBytes);
  if (text.trim() === '') {
    if (required)
      throw new RegistryError(
        'INVALID_EVENT',
        'The request needs a JSON body: an event such as {"type":"APPROVE"}.',
      );
    return undefined;
  }
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  if (!/^application\/([\w.+-]+\+)?json\b/.test(type)) {
    throw new RegistryError(
      'UNSUPPORTED_MEDIA_TYPE',
      `The body must be JSON with content-type application/json, got '${type || 'none'}'.`,
    );
  }
  try {
    return safeJsonParse(text);
  } catch (cause) {
    throw new RegistryError(
      'INVALID_JSON',
      `The body is not valid JSON: ${(cause as Error).message}.`,
      { cause },
    );
  }
}

function tooLarge(maxBytes: number): RegistryError {
  return new RegistryError('PAYLOAD_TOO_LARGE', `The body is larger than ${maxBytes} bytes.`, {
    details: { limit: maxBytes },
  });
}

async function readText(request: Request, maxBytes: number): Promise<string> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
