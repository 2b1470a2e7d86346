/**
 * Mounting the registry's HTTP API in Express, after `express.json()` as most
 * Express apps have it: `toNodeListener` takes the body the parser already read
 * from `req.body`. `basePath` makes the links carry the mount path.
 */
import express from 'express';
import { createHttpHandler, type HttpHandlerOptions, toNodeListener } from '../src/http/index.js';
import type { Registry } from '../src/index.js';

/**
 * An Express app with the registry under `/registry`.
 *
 * @example
 * ```ts
 * expressApp(registry).listen(3000, '127.0.0.1');
 * // curl -X POST localhost:3000/registry/instances/job/nightly -H 'content-type: application/json' -d '{}'
 * ```
 */
export function expressApp(registry: Registry<any>, options: HttpHandlerOptions = {}) {
  const app = express();
  app.use(express.json());
  app.use(
    '/registry',
    toNodeListener(createHttpHandler(registry, { basePath: '/registry', ...options })),
  );
  return app;
}
