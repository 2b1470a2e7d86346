/**
 * Mounting the registry's HTTP API in Hono. Hono's `basePath` does not strip the
 * prefix from `c.req.raw`, so the handler gets the same `basePath` and strips it.
 */
import { Hono } from 'hono';
import { createHttpHandler, type HttpHandlerOptions } from '../src/http/index.js';
import type { Registry } from '../src/index.js';

/**
 * A Hono app with the registry under `/registry`.
 *
 * @example
 * ```ts
 * export default { fetch: honoApp(registry).fetch }; // Bun, Deno, Cloudflare, @hono/node-server
 * ```
 */
export function honoApp(registry: Registry<any>, options: HttpHandlerOptions = {}) {
  const handler = createHttpHandler(registry, { basePath: '/registry', ...options });
  const app = new Hono().basePath('/registry');
  app.all('/*', (c) => handler(c.req.raw));
  return app;
}
