import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressApp } from '../../examples/express-app.js';
import { fastifyApp } from '../../examples/fastify-app.js';
import { honoApp } from '../../examples/hono-app.js';
import { demoMachines } from '../../examples/machines.js';
import { createHttpHandler, toNodeListener } from '../../src/http/index.js';
import { createRegistry, type Registry } from '../../src/index.js';

let registry: Registry<typeof demoMachines>;
beforeAll(async () => {
  registry = createRegistry({ machines: demoMachines });
  await registry.start();
});
afterAll(() => registry.close());

async function listen(server: Server): Promise<{ base: string; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const JSON_TYPE = { 'content-type': 'application/json' };
const post = (url: string, body?: unknown, headers: Record<string, string> = JSON_TYPE) =>
  fetch(url, {
    method: 'POST',
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** The same round trip through any mounting: create, send, stop with an empty JSON body, read, purge. */
async function roundTrip(base: string, name: string) {
  const id = `${name}-po/1`;
  const enc = encodeURIComponent(id);
  const created = await post(`${base}/registry/instances/approval/${enc}`, { subject: name });
  expect(created.status).toBe(201);
  expect(created.headers.get('location')).toBe(`/registry/instances/${enc}`);
  const body = await created.json();
  expect(body).toMatchObject({ id, context: { subject: name } });
  expect(body.links.sendEvent).toBe(`/registry/instances/${enc}/events`);
  const sent = await post(`${base}${body.links.sendEvent}`, { type: 'PAUSE' });
  expect(await sent.json()).toMatchObject({ changed: false });
  expect((await post(`${base}${body.links.stop}`)).status).toBe(200); // empty JSON body
  const read = await fetch(`${base}${body.links.status}`);
  expect(await read.json()).toMatchObject({ id, status: 'stopped' });
  const list = await (await fetch(`${base}/registry/instances?type=approval`)).json();
  expect(list.items.map((s: { id: string }) => s.id)).toContain(id);
  const purged = await fetch(`${base}${body.links.purge}`, {
    method: 'DELETE',
    headers: { 'x-requested-with': 'fetch' },
  });
  expect(purged.status).toBe(204);
  expect((await fetch(`${base}/registry/`)).headers.get('content-type')).toMatch(/text\/html/);
  expect((await fetch(`${base}/registry/nowhere`)).status).toBe(404);
  // The protections hold inside a framework too.
  const forged = await fetch(`${base}/registry/instances/approval/x`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: 'http://evil.example' },
    body: '{}',
  });
  expect(forged.status).toBe(403);
}

describe('Express, with express.json() mounted first', () => {
  it('uses the body the parser read: create, events, stop, read, purge under /registry', async () => {
    const srv = await listen(createServer(expressApp(registry)));
    try {
      await roundTrip(srv.base, 'express');
      // A form body that express.urlencoded() parsed is still no JSON: 415.
      const app = express();
      app.use(express.urlencoded());
      app.use(toNodeListener(createHttpHandler(registry)));
      const form = await listen(createServer(app));
      try {
        const res = await post(`${form.base}/instances/approval/form`, undefined, {
          'content-type': 'application/x-www-form-urlencoded',
        });
        expect(res.status).toBe(415);
      } finally {
        await form.close();
      }
    } finally {
      await srv.close();
    }
  });

  // The parser decodes in the declared charset and leaves text: read again in
  // that charset, "é" sent as Latin-1 was stored as "Ã©" (found by review).
  it('a body the parser decoded from another charset is stored as the client sent it', async () => {
    // express.json() takes the UTF family only; express.text() any charset iconv knows.
    const cases = [
      ['json', express.json({ type: '*/*' }), 'utf-16le', 'utf16le'],
      ['text', express.text({ type: '*/*' }), 'utf-16le', 'utf16le'],
      ['text', express.text({ type: '*/*' }), 'iso-8859-1', 'latin1'],
    ] as const;
    for (const [name, parser, charset, encoding] of cases) {
      const app = express();
      app.use(parser);
      app.use(toNodeListener(createHttpHandler(registry)));
      const srv = await listen(createServer(app));
      try {
        const id = `charset-${name}-${charset}`;
        const res = await fetch(`${srv.base}/instances/approval/${id}`, {
          method: 'POST',
          headers: { 'content-type': `application/json; charset=${charset}` },
          body: Buffer.from('{"subject":"é"}', encoding),
        });
        expect([name, charset, res.status]).toEqual([name, charset, 201]);
        expect((await registry.getStatus(id))?.context).toMatchObject({ subject: 'é' });
      } finally {
        await srv.close();
      }
    }
  });

  it('a middleware that swallowed the body fails with BODY_CONSUMED and a message that says what to do', async () => {
    const app = express();
    app.use((req, _res, next) => {
      req.on('data', () => {});
      req.on('end', () => next());
    });
    app.use(toNodeListener(createHttpHandler(registry)));
    const srv = await listen(createServer(app));
    try {
      const res = await post(`${srv.base}/instances/approval/swallowed`, { subject: 'x' });
      expect(res.status).toBe(500);
      const { error } = await res.json();
      expect(error.code).toBe('BODY_CONSUMED');
      expect(error.message).toMatch(/mount the registry before body parsers.*express\.json/);
      expect(await registry.getStatus('swallowed')).toBeUndefined();
    } finally {
      await srv.close();
    }
  });
});

describe('Hono, app.basePath("/registry").all("/*")', () => {
  it('strips the prefix: create, events, stop, read, purge under /registry', async () => {
    const srv = await listen(createServer(toNodeListener(honoApp(registry).fetch)));
    try {
      await roundTrip(srv.base, 'hono');
    } finally {
      await srv.close();
    }
  });
});

describe('Fastify, a plugin under the /registry prefix', () => {
  it('create, events, stop (empty JSON body), read, purge under /registry', async () => {
    const app = fastifyApp(registry);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as AddressInfo;
      await roundTrip(`http://127.0.0.1:${port}`, 'fastify');
    } finally {
      await app.close();
    }
  });
});
