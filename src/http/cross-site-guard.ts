import { HttpError } from './http-error.js';

/**
 * Which other origins may call the API from a browser, and how.
 *
 * @example
 * ```ts
 * createHttpHandler(registry, { cors: { origins: ['https://admin.example.com'], credentials: true } });
 * ```
 */
export interface CorsOptions {
  /** Origins allowed, e.g. `['https://admin.example.com']`, or a predicate over the `Origin` header. */
  origins: readonly string[] | ((origin: string) => boolean);
  /** Send `Access-Control-Allow-Credentials: true` (cookies, HTTP auth). Default false. */
  credentials?: boolean;
  /** How long a browser may cache a preflight answer, in seconds. Default 600. */
  maxAgeSeconds?: number;
}

/** What {@link crossSiteGuard} checks requests against. */
export interface CrossSiteOptions {
  cors?: CorsOptions | undefined;
  /**
   * Host names (with or without port) requests may be addressed to; `'*'` for any.
   * Default: loopback names only (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`),
   * which is what defeats DNS rebinding against a local server.
   */
  allowedHosts?: readonly string[] | '*' | undefined;
  /** The origin the API is published at (from `publicUrl`): same-origin even when a proxy rewrites `Host`. */
  publicOrigin?: string | undefined;
}

/** The outcome for one request: a preflight answer, or the CORS headers its answer carries. */
export type GuardResult = { preflight: Response } | { headers: Record<string, string> };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ALLOWED_METHODS = 'GET, HEAD, POST, DELETE, OPTIONS';
/** The answers' own headers that are not CORS-safelisted. */
const EXPOSED_HEADERS = 'location, retry-after, allow, idempotent-replayed';
const LOOPBACK = /^(localhost|[\w-]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;
/** The header that marks a request no HTML form, `sendBeacon` or no-cors fetch could have sent. */
export const REQUEST_HEADER = 'x-requested-with';

/**
 * Builds the cross-site checks every request passes before it is routed:
 * the `Host` must be an allowed host (DNS rebinding); a request from another
 * origin (its `Origin` header, or `Sec-Fetch-Site` for a state change) must be
 * one `cors` allows. With {@link assertNotSimple} (checked once the route is
 * known), a state change must also be `application/json` or carry
 * `X-Requested-With`, which no form, beacon or no-cors fetch can do without a
 * preflight, and preflights are refused unless `cors` allows the origin.
 *
 * @example
 * ```ts
 * const guard = crossSiteGuard({ cors: { origins: ['https://admin.example.com'] } });
 * const outcome = guard(request); // throws CROSS_ORIGIN_REFUSED for https://evil.example
 * ```
 */
export function crossSiteGuard(options: CrossSiteOptions): (request: Request) => GuardResult {
  const hosts = options.allowedHosts;
  const hostAllowed =
    hosts === '*'
      ? () => true
      : hosts === undefined
        ? (host: string) => LOOPBACK.test(hostname(host))
        : (host: string) => {
            const lower = host.toLowerCase();
            return hosts.some((h) => {
              const want = h.toLowerCase();
              return want === lower || (!want.includes(':') && want === hostname(lower));
            });
          };
  const cors = options.cors;
  const corsAllows = (origin: string): boolean => {
    if (!cors) return false;
    return typeof cors.origins === 'function'
      ? cors.origins(origin) === true
      : cors.origins.includes(origin);
  };
  const corsHeaders = (origin: string): Record<string, string> => ({
    'access-control-allow-origin': origin,
    // Without it a page of an allowed origin reads none of these (a create's Location).
    'access-control-expose-headers': EXPOSED_HEADERS,
    vary: 'Origin',
    ...(cors?.credentials ? { 'access-control-allow-credentials': 'true' } : {}),
  });

  return (request) => {
    const method = request.method.toUpperCase();
    const host = request.headers.get('host') ?? new URL(request.url).host;
    if (!hostAllowed(host)) {
      throw new HttpError(
        'HOST_NOT_ALLOWED',
        `Requests addressed to host '${host}' are refused; add it to the handler's allowedHosts option.`,
        { details: { host } },
      );
    }
    const origin = request.headers.get('origin');
    const crossOrigin =
      origin !== null && origin !== options.publicOrigin && !sameOrigin(origin, host);
    if (crossOrigin && !corsAllows(origin)) {
      throw new HttpError(
        'CROSS_ORIGIN_REFUSED',
        `Requests from origin '${origin}' are refused; allow it with the handler's cors option.`,
        { details: { origin } },
      );
    }
    if (method === 'OPTIONS') {
      if (!crossOrigin)
        return {
          preflight: new Response(null, { status: 204, headers: { allow: ALLOWED_METHODS } }),
        };
      return {
        preflight: new Response(null, {
          status: 204,
          headers: {
            ...corsHeaders(origin),
            'access-control-allow-methods': ALLOWED_METHODS,
            'access-control-allow-headers':
              request.headers.get('access-control-request-headers') ?? 'content-type',
            'access-control-max-age': String(cors?.maxAgeSeconds ?? 600),
          },
        }),
      };
    }
    // A browser names the site that caused a request even when it sends no
    // Origin (an iframe, an image, a no-cors fetch). State changes from another
    // site are refused; so are reads, but for a top-level navigation (a link
    // to the dashboard): another site's iframes of /events took every stream
    // slot, and its long polls kept instances from passivating.
    const site = request.headers.get('sec-fetch-site');
    if (!crossOrigin && (site === 'cross-site' || site === 'same-site')) {
      if (!SAFE_METHODS.has(method)) {
        throw new HttpError(
          'CROSS_ORIGIN_REFUSED',
          'A state-changing request from another site is refused; allow its origin with the cors option.',
        );
      }
      const navigation =
        request.headers.get('sec-fetch-mode') === 'navigate' &&
        request.headers.get('sec-fetch-dest') === 'document';
      if (!navigation) {
        throw new HttpError(
          'CROSS_ORIGIN_REFUSED',
          'A read from another site that is not a followed link (an iframe, an image, a no-cors fetch) is refused: such requests carry no Origin for the cors option to allow. Open the page itself, or fetch with CORS from an origin the cors option lists.',
        );
      }
    }
    return { headers: crossOrigin ? corsHeaders(origin) : {} };
  };
}

/**
 * Throws `UNSUPPORTED_MEDIA_TYPE` for a state-changing request that a simple
 * cross-site request could have sent: one neither `application/json` (empty
 * bodies too) nor carrying `X-Requested-With`.
 *
 * @example
 * ```ts
 * assertNotSimple(new Request(url, { method: 'POST' })); // throws: no content type
 * ```
 */
export function assertNotSimple(request: Request): void {
  const method = request.method.toUpperCase();
  if (SAFE_METHODS.has(method)) return;
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  if (!isJsonType(type) && !request.headers.has(REQUEST_HEADER)) {
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `A ${method} must be sent with content-type: application/json (even with an empty body) or with an X-Requested-With header; got content-type '${type || 'none'}'.`,
      { details: { contentType: type || null } },
    );
  }
}

/** Whether a content type is JSON (`application/json`, `application/*+json`). */
export function isJsonType(type: string): boolean {
  return /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type.trim());
}

/**
 * The name of a `name[:port]` Host; anything else is returned whole, so it
 * matches no name (cut at the last colon, `localhost:@evil.com` read as `localhost`).
 */
function hostname(host: string): string {
  const lower = host.toLowerCase();
  const parts = /^(\[[0-9a-f:.]*\]|[^:[\]]*)(?::\d*)?$/.exec(lower);
  return parts?.[1] ?? lower;
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    // `Origin: null` (sandboxed frames, file: pages) is never this server.
    return false;
  }
}
