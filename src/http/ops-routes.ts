import type { Registry } from '../registry.js';
import { json } from './error-response.js';
import { HttpError } from './http-error.js';
import { type HttpTarget, prefixTarget } from './http-target.js';
import { listFilter } from './instance-path.js';

/** A matched operator route (the same shape as the routing table's `Route`). */
interface OpsRoute {
  action: 'list' | 'read';
  target: HttpTarget;
  run: () => Promise<Response>;
}

/**
 * The operator routes beside the instance API: `GET /counts` (counts per
 * status, authorised as `list`) and `GET /quarantine?limit=&cursor=` (a page
 * of the records the store set aside, authorised as `read`); `undefined` for any other path.
 *
 * @example
 * ```ts
 * const route = opsRoute(ctx, ['counts'], 'GET', new URLSearchParams('type=job'), allow);
 * ```
 */
export function opsRoute(
  ctx: { registry: Registry<any> },
  raw: string[],
  method: string,
  params: URLSearchParams,
  allow: (methods: string) => never,
): OpsRoute | undefined {
  const { registry } = ctx;
  if (raw.length !== 1) return undefined;
  if (raw[0] === 'counts') {
    if (method !== 'GET' && method !== 'HEAD') allow('GET');
    const { type, idPrefix } = listFilter(params);
    return {
      action: 'list',
      target: prefixTarget(idPrefix),
      run: async () =>
        json(
          200,
          await registry.counts({
            ...(type !== undefined ? { type } : {}),
            ...(idPrefix !== undefined ? { idPrefix } : {}),
          }),
        ),
    };
  }
  if (raw[0] === 'quarantine') {
    if (method !== 'GET' && method !== 'HEAD') allow('GET');
    const limit = params.get('limit');
    const cursor = params.get('cursor');
    return {
      action: 'read',
      target: {},
      run: async () => {
        const page = await registry.quarantined({
          ...(limit === null ? {} : { limit: Number(limit) }),
          ...(cursor === null ? {} : { cursor }),
        });
        if (!page)
          throw new HttpError(
            'ROUTE_NOT_FOUND',
            "This registry's store cannot list set-aside records (it has no listSetAside()).",
          );
        return json(200, {
          items: page.items.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
          ...(page.cursor !== null ? { cursor: page.cursor } : {}),
        });
      },
    };
  }
  return undefined;
}
