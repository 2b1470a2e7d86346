/**
 * Mounting the registry's HTTP API in Fastify. Inside its own plugin, Fastify's
 * body parsers are replaced by one that leaves the body unread, and the route
 * hands the raw request and response to `toNodeListener`.
 */
import Fastify from 'fastify';
import { createHttpHandler, type HttpHandlerOptions, toNodeListener } from '../src/http/index.js';
import type { Registry } from '../src/index.js';

/**
 * A Fastify instance with the registry under `/registry`.
 *
 * @example
 * ```ts
 * await fastifyApp(registry).listen({ port: 3000, host: '127.0.0.1' });
 * ```
 */
export function fastifyApp(registry: Registry<any>, options: HttpHandlerOptions = {}) {
  const listener = toNodeListener(
    createHttpHandler(registry, { basePath: '/registry', ...options }),
  );
  const app = Fastify();
  app.register(
    async (scope) => {
      // The registry reads (and limits) its own bodies: Fastify must not consume them.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.all('/', (request, reply) => {
        reply.hijack();
        listener(request.raw, reply.raw);
      });
      scope.all('/*', (request, reply) => {
        reply.hijack();
        listener(request.raw, reply.raw);
      });
    },
    { prefix: '/registry' },
  );
  return app;
}
