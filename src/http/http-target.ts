/**
 * The instances a request can reach: one (`id`), those whose IDs start with
 * `idPrefix` (a list, count or event stream filtered by `?idPrefix=`), or, with
 * neither, every instance (an unfiltered list, count or stream, the set-aside
 * records, the dashboard page). `type` names the machine type a create asks for.
 *
 * @example
 * ```ts
 * // One tenant per ID prefix: a request reaches only its tenant's instances.
 * const authorize: Authorize = (request, _action, target: HttpTarget) => {
 *   const mine = `${tenantOf(request)}/`;
 *   if (target.id !== undefined) return target.id.startsWith(mine);
 *   return target.idPrefix?.startsWith(mine) === true; // everything else reaches other tenants
 * };
 * ```
 */
export interface HttpTarget {
  id?: string;
  idPrefix?: string;
  type?: string;
}

/**
 * The target of a route that reads the instances `idPrefix` selects (all of them without one).
 *
 * @example
 * ```ts
 * prefixTarget('acme/'); // { idPrefix: 'acme/' }
 * prefixTarget(undefined); // {}: every instance
 * ```
 */
export function prefixTarget(idPrefix: string | undefined): HttpTarget {
  return idPrefix ? { idPrefix } : {};
}
