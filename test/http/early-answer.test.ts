/**
 * Answers sent before the request body was read (413 too large, 415 wrong
 * type, 404 no route) left the rest of the body unread on a keep-alive
 * connection: once a body is handed to a web stream, Node no longer discards
 * what is left of it, so the client's next request on that connection was
 * never read, and failed when the server timed the connection out. Now such
 * an answer closes the connection, and the client's next request goes on a
 * new one.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { createRegistry, type Registry } from '../../src/index.js';
import { type Listening, serve } from './support.js';

const m = setup({}).createMachine({ id: 'm' });

describe('an answer sent before the body was read', () => {
  let registry: Registry<{ m: typeof m }>;
  let server: Listening;
  beforeAll(async () => {
    registry = createRegistry({ machines: { m } });
    await registry.start();
    await registry.spawnSingleton('m', 'x');
    server = await serve(registry);
  });
  afterAll(async () => {
    await server.close();
    await registry.close();
  });

  it.each([
    ['413, a body over the limit', '/instances/x/events', 'application/json', 2_000_000, 413],
    ['415, a body of the wrong type', '/instances/x/events', 'text/plain', 1_000_000, 415],
    ['404, a body to no route', '/no/such/route', 'application/json', 1_000_000, 404],
  ])(
    '%s: the next request on a keep-alive client is answered',
    async (_, path, type, size, status) => {
      // One socket: the next request goes on the same connection unless it was closed.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const request = (method: string, target: string, body?: string) =>
        new Promise<number | string>((resolve) => {
          const req = http.request(
            {
              host: '127.0.0.1',
              port: server.port,
              method,
              path: target,
              agent,
              headers: body ? { 'content-type': type } : {},
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          // A bound on waiting, not a timing assertion: before the fix no answer ever came.
          req.setTimeout(10_000, () => {
            req.destroy();
            resolve('no answer');
          });
          req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
          req.end(body);
        });
      try {
        const answers: (number | string)[] = [];
        for (let i = 0; i < 3; i++) {
          answers.push(
            await request('POST', path, JSON.stringify({ type: 'X', data: 'x'.repeat(size) })),
          );
          answers.push(await request('GET', '/healthz'));
        }
        expect(answers).toEqual([status, 200, status, 200, status, 200]);
      } finally {
        agent.destroy();
      }
    },
    60_000,
  );
});
