import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { demoMachines } from '../../examples/machines.js';
import { createRegistry, type Registry } from '../../src/index.js';
import { codeOf, type Listening, listen, raw, serve, snapshotOf } from './support.js';

const machines = {
  ...demoMachines,
  // Fails with a message naming a server path, as an fs error would.
  fragile: setup({}).createMachine({
    on: {
      BREAK: {
        actions: () => {
          throw new Error("ENOENT: no such file or directory, open '/srv/app/secrets/config.json'");
        },
      },
    },
  }),
};
const JSON_TYPE = { 'content-type': 'application/json' };

describe('attacks with raw requests against a real server on 127.0.0.1 (default options)', () => {
  let registry: Registry<typeof machines>;
  let srv: Awaited<ReturnType<typeof serve>>;
  let before: string;

  beforeAll(async () => {
    registry = createRegistry({ machines });
    await registry.start();
    srv = await serve(registry);
  });
  afterAll(async () => {
    await srv.close();
    await registry.close();
  });
  beforeEach(async () => {
    await registry.ensureSingleton('approval', 'victim', { ifFinished: 'replace' });
    before = await snapshotOf(registry);
  });
  const unchanged = async () => expect(await snapshotOf(registry)).toBe(before);

  it.each([
    ['a form-like POST with no content type and an empty body (no-cors fetch, sendBeacon)', {}, ''],
    [
      'a text/plain POST (a <form enctype=text/plain>)',
      { 'content-type': 'text/plain' },
      '{"reason":"x"}',
    ],
    [
      'a urlencoded POST (a plain <form>)',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'reason=x',
    ],
    ['a multipart POST', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--'],
  ])('stop by %s: 415, nothing changes', async (_name, headers, body) => {
    const res = await raw(srv.port, 'POST', '/instances/victim/stop', headers, body);
    expect(res.status).toBe(415);
    expect(codeOf(res)).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(JSON.parse(res.body).error.message).toMatch(/application\/json.*X-Requested-With/);
    await unchanged();
  });

  it('create by a plain form POST: 415, no instance', async () => {
    for (const target of ['/instances/approval/forged', '/instances/approval']) {
      const res = await raw(srv.port, 'POST', target, {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(res.status).toBe(415);
    }
    await unchanged();
  });

  it('DELETE without JSON type or X-Requested-With: 415, still there', async () => {
    await registry.stop('victim');
    before = await snapshotOf(registry);
    const res = await raw(srv.port, 'DELETE', '/instances/victim');
    expect(res.status).toBe(415);
    await unchanged();
  });

  it('a JSON POST from another origin: 403 CROSS_ORIGIN_REFUSED, no CORS headers; its preflight too', async () => {
    const res = await raw(
      srv.port,
      'POST',
      '/instances/victim/stop',
      { ...JSON_TYPE, origin: 'http://evil.example' },
      '{}',
    );
    expect(res.status).toBe(403);
    expect(codeOf(res)).toBe('CROSS_ORIGIN_REFUSED');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await raw(srv.port, 'OPTIONS', '/instances/victim/stop', {
      origin: 'http://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const nullOrigin = await raw(
      srv.port,
      'POST',
      '/instances/approval/sandboxed',
      { ...JSON_TYPE, origin: 'null' },
      '{}',
    );
    expect(nullOrigin.status).toBe(403);
    await unchanged();
  });

  it('a POST a browser marks Sec-Fetch-Site: cross-site, without Origin: 403', async () => {
    const res = await raw(
      srv.port,
      'POST',
      '/instances/victim/stop',
      { ...JSON_TYPE, 'sec-fetch-site': 'cross-site' },
      '{}',
    );
    expect(res.status).toBe(403);
    await unchanged();
  });

  // A page on another site loaded ~250 iframes of /events (an iframe sends no
  // Origin), took every event-stream slot and locked the operator's dashboard
  // out with 503 TOO_MANY_STREAMS; long polls the same way kept instances from
  // passivating. A read the browser marks cross-site or same-site is refused
  // unless it is a top-level navigation (a link to the dashboard still works).
  it('a GET a browser marks cross-site (iframe, image, no-cors fetch): 403; a link followed: served', async () => {
    for (const [target, dest, mode] of [
      ['/events', 'iframe', 'navigate'],
      ['/instances/victim?waitMs=60000', 'iframe', 'navigate'],
      ['/instances', 'image', 'no-cors'],
      ['/events', 'empty', 'no-cors'],
      ['/', 'iframe', 'navigate'],
    ] as const) {
      for (const site of ['cross-site', 'same-site']) {
        const res = await raw(
          srv.port,
          'GET',
          target,
          { 'sec-fetch-site': site, 'sec-fetch-dest': dest, 'sec-fetch-mode': mode },
          '',
        );
        expect(res.status, `${site} ${dest} ${target}`).toBe(403);
        expect(JSON.parse(res.body).error.code).toBe('CROSS_ORIGIN_REFUSED');
      }
    }
    const followed = await raw(
      srv.port,
      'GET',
      '/',
      {
        'sec-fetch-site': 'cross-site',
        'sec-fetch-dest': 'document',
        'sec-fetch-mode': 'navigate',
      },
      '',
    );
    expect(followed.status).toBe(200);
    const own = await raw(
      srv.port,
      'GET',
      '/instances/victim',
      { 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors' },
      '',
    );
    expect(own.status).toBe(200);
  });

  it('DNS rebinding (Host and Origin of the attacker name): 403 HOST_NOT_ALLOWED for reads and writes', async () => {
    const evil = {
      host: `rebind.evil.example:${srv.port}`,
      origin: `http://rebind.evil.example:${srv.port}`,
    };
    for (const [method, target, headers, body] of [
      ['GET', '/instances', {}, ''],
      ['GET', '/instances/victim', {}, ''],
      ['GET', '/', {}, ''],
      ['POST', '/instances/victim/stop', JSON_TYPE, '{}'],
      ['POST', '/instances/approval/rebound', JSON_TYPE, '{}'],
    ] as const) {
      const res = await raw(srv.port, method, target, { ...headers, ...evil }, body);
      expect(res.status, `${method} ${target}`).toBe(403);
      expect(codeOf(res)).toBe('HOST_NOT_ALLOWED');
      expect(res.body).not.toContain('victim');
    }
    await unchanged();
  });

  it('a Host that is not name[:port] matches no allowed name, loopback or listed', async () => {
    // Cut at the last colon, 'localhost:@evil.com' read as 'localhost'.
    for (const host of [
      'localhost:@evil.com',
      '127.0.0.1:x',
      '[::1]:@evil.com',
      'localhost:80:81',
    ]) {
      const res = await raw(srv.port, 'GET', '/instances', { host });
      expect(res.status, host).toBe(403);
      expect(codeOf(res)).toBe('HOST_NOT_ALLOWED');
    }
  });

  it('loopback names are allowed hosts: localhost, 127.0.0.1, [::1], *.localhost', async () => {
    for (const host of [
      'localhost',
      `localhost:${srv.port}`,
      '127.0.0.1',
      '[::1]:1',
      'app.localhost',
    ]) {
      expect((await raw(srv.port, 'GET', '/instances', { host })).status, host).toBe(200);
    }
  });

  it('the Host header never routes: POST /static/ok with Host 127.0.0.1:3999/instances/victim/stop# is a 404', async () => {
    const res = await raw(
      srv.port,
      'POST',
      '/static/ok',
      { ...JSON_TYPE, host: '127.0.0.1:3999/instances/victim/stop#' },
      '{}',
    );
    expect([403, 404]).toContain(res.status);
    await unchanged();
    // Even with every host allowed, the path alone routes.
    const open = await serve(registry, { allowedHosts: '*' });
    try {
      const again = await raw(
        open.port,
        'POST',
        '/static/ok',
        { ...JSON_TYPE, host: '127.0.0.1:3999/instances/victim/stop#' },
        '{}',
      );
      expect(again.status).toBe(404);
      expect(codeOf(again)).toBe('ROUTE_NOT_FOUND');
      const links = await raw(open.port, 'GET', '/instances/victim', { host: 'evil.example' });
      expect(links.status).toBe(200);
      expect(links.body).not.toContain('evil.example');
      expect(JSON.parse(links.body).links.stop).toBe('/instances/victim/stop');
    } finally {
      await open.close();
    }
    await unchanged();
  });

  it.each([
    'xstate.stop',
    'xstate.after.86400000.approval.pending',
    'xstate.error.actor.0.approval',
    'xstate.done.actor.x',
    'xstate.init',
  ])('a forged internal event %s: 400 RESERVED_EVENT, nothing changes', async (type) => {
    const res = await raw(
      srv.port,
      'POST',
      '/instances/victim/events',
      JSON_TYPE,
      JSON.stringify({ type }),
    );
    expect(res.status).toBe(400);
    expect(codeOf(res)).toBe('RESERVED_EVENT');
    expect(JSON.parse(res.body).error.message).toMatch(/allowReservedEvents/);
    await unchanged();
    await expect(registry.send('victim', { type })).rejects.toMatchObject({
      code: 'RESERVED_EVENT',
    });
    await unchanged();
  });

  it('errors served over HTTP carry no stack and no server paths', async () => {
    await registry.ensureSingleton('fragile', 'breaks');
    await registry.send('breaks', { type: 'BREAK' });
    const status = await registry.getStatus('breaks');
    expect(status?.status).toBe('error');
    expect(status?.error?.stack).toContain('/'); // the registry keeps it; HTTP must not serve it
    for (const target of ['/instances/breaks', '/instances?type=fragile']) {
      const res = await raw(srv.port, 'GET', target);
      expect(res.status).toBe(200);
      expect(res.body).not.toMatch(/stack|\/srv\/app|\bat \S+ \(/);
      expect(res.body).toContain('ENOENT');
    }
    const dev = await serve(registry, { exposeErrors: true });
    try {
      expect((await raw(dev.port, 'GET', '/instances/breaks')).body).toContain('stack');
    } finally {
      await dev.close();
    }
  });
});

describe('registry.send and reserved events', () => {
  it('allowReservedEvents lets a caller who means it fire a timer early', async () => {
    const registry = createRegistry({ machines, allowReservedEvents: true });
    await registry.start();
    await registry.spawnSingleton('approval', 'early');
    await registry.send('early', { type: 'xstate.after.86400000.approval.pending' });
    expect((await registry.getStatus('early'))?.value).toBe('expired');
    await registry.close();
  });
});

describe('reserved events over HTTP when the registry allows them', () => {
  it('are still refused over HTTP unless the handler allows them too', async () => {
    const registry = createRegistry({ machines, allowReservedEvents: true });
    await registry.start();
    const strict = await serve(registry);
    const lax = await serve(registry, { allowReservedEvents: true });
    const event = JSON.stringify({ type: 'xstate.after.86400000.approval.pending' });
    try {
      await registry.spawnSingleton('approval', 'po');
      const refused = await raw(strict.port, 'POST', '/instances/po/events', JSON_TYPE, event);
      expect(codeOf(refused)).toBe('RESERVED_EVENT');
      expect((await registry.getStatus('po'))?.value).toBe('pending');
      expect((await raw(lax.port, 'POST', '/instances/po/events', JSON_TYPE, event)).status).toBe(
        202,
      );
      expect((await registry.getStatus('po'))?.value).toBe('expired');
    } finally {
      await strict.close();
      await lax.close();
      await registry.close();
    }
  });
});

describe('publicUrl', () => {
  it('makes absolute links from it, never from Host, and counts its origin as same-origin behind a proxy', async () => {
    const registry = createRegistry({ machines });
    await registry.start();
    const srv = await serve(registry, { publicUrl: 'https://ops.example.com/registry/' });
    try {
      const res = await raw(
        srv.port,
        'POST',
        '/instances/approval/po',
        { ...JSON_TYPE, origin: 'https://ops.example.com' },
        '{}',
      );
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe('https://ops.example.com/registry/instances/po');
      expect(JSON.parse(res.body).links.stop).toBe(
        'https://ops.example.com/registry/instances/po/stop',
      );
      const other = await raw(
        srv.port,
        'POST',
        '/instances/approval/po2',
        { ...JSON_TYPE, origin: 'https://example.com' },
        '{}',
      );
      expect(other.status).toBe(403);
    } finally {
      await srv.close();
      await registry.close();
    }
  });
});

describe('cors and allowedHosts options', () => {
  let registry: Registry<typeof machines>;
  let srv: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    registry = createRegistry({ machines });
    await registry.start();
    srv = await serve(registry, {
      cors: { origins: ['https://admin.example.com'], credentials: true, maxAgeSeconds: 60 },
      allowedHosts: ['registry.internal', 'api.example.com:8443'],
    });
  });
  afterAll(async () => {
    await srv.close();
    await registry.close();
  });

  it('answers the preflight of an allowed origin and request with CORS headers, refuses others', async () => {
    const origin = 'https://admin.example.com';
    const host = 'registry.internal';
    const preflight = await raw(srv.port, 'OPTIONS', '/instances/approval/a', {
      host,
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-allow-headers': 'content-type, authorization',
      'access-control-max-age': '60',
    });
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    const res = await raw(
      srv.port,
      'POST',
      '/instances/approval/a',
      { host, origin, ...JSON_TYPE },
      '{}',
    );
    expect(res.status).toBe(201);
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    // A page of that origin can read where its instance lives, and when to retry.
    expect(res.headers['access-control-expose-headers']?.split(/,\s*/)).toEqual(
      expect.arrayContaining(['location', 'retry-after', 'allow', 'idempotent-replayed']),
    );
    const other = await raw(
      srv.port,
      'POST',
      '/instances/approval/b',
      { host, origin: 'https://admin.example.com.evil.example', ...JSON_TYPE },
      '{}',
    );
    expect(other.status).toBe(403);
    expect(await registry.getStatus('b')).toBeUndefined();
  });

  it('allowedHosts: listed names (any port unless one is given) pass, loopback no longer does', async () => {
    expect((await raw(srv.port, 'GET', '/instances', { host: 'registry.internal:9' })).status).toBe(
      200,
    );
    expect(
      (await raw(srv.port, 'GET', '/instances', { host: 'api.example.com:8443' })).status,
    ).toBe(200);
    expect((await raw(srv.port, 'GET', '/instances', { host: 'api.example.com:80' })).status).toBe(
      403,
    );
    expect((await raw(srv.port, 'GET', '/instances', { host: '127.0.0.1' })).status).toBe(403);
    expect(
      (await raw(srv.port, 'GET', '/instances', { host: 'registry.internal:@evil.com' })).status,
    ).toBe(403);
  });
});

describe('the headers of every answer', () => {
  let registry: Registry<typeof machines>;
  let srv: Awaited<ReturnType<typeof serve>>;
  let upstream: Listening;
  beforeAll(async () => {
    registry = createRegistry({ machines });
    await registry.start();
    upstream = await listen(
      // Compressed, as an auth server behind a proxy often answers: fetch() decodes it.
      createServer((_req, res) =>
        res
          .writeHead(401, { 'content-type': 'text/html', 'content-encoding': 'gzip' })
          .end(gzipSync('denied')),
      ),
    );
    srv = await serve(registry, {
      // A hook's answer may have immutable headers: Response.redirect, or an
      // auth server's answer passed on.
      authorize: (request) => {
        const params = new URL(request.url).searchParams;
        if (params.has('login')) return Response.redirect('http://127.0.0.1/login', 302);
        if (params.has('upstream')) return fetch(upstream.base);
        if (params.has('cookies')) {
          const headers = new Headers([
            ['set-cookie', 'a=1; Path=/'],
            ['set-cookie', 'b=2; Path=/'],
          ]);
          return new Response('go away', { status: 403, statusText: 'Go Away', headers });
        }
        return true;
      },
    });
  });
  afterAll(async () => {
    await upstream.close();
    await srv.close();
    await registry.close();
  });

  it('say nosniff and no-store: statuses, errors, probes, preflights, the dashboard and the event stream', async () => {
    const json = { 'content-type': 'application/json' };
    const answers = {
      create: await raw(srv.port, 'POST', '/instances/approval/h1', json, '{}'),
      status: await raw(srv.port, 'GET', '/instances/h1'),
      list: await raw(srv.port, 'GET', '/instances?limit=5'),
      notFound: await raw(srv.port, 'GET', '/instances/nobody'),
      badJson: await raw(srv.port, 'POST', '/instances/h1/events', json, '{'),
      wrongMethod: await raw(srv.port, 'PUT', '/instances/h1', json, '{}'),
      health: await raw(srv.port, 'GET', '/healthz'),
      ready: await raw(srv.port, 'GET', '/readyz'),
      preflight: await raw(srv.port, 'OPTIONS', '/instances/h1'),
      dashboard: await raw(srv.port, 'GET', '/'),
    };
    expect(Object.values(answers).map((a) => a.status)).toEqual([
      201, 200, 200, 404, 400, 405, 200, 200, 204, 200,
    ]);
    for (const [name, answer] of Object.entries(answers)) {
      expect([name, answer.headers['x-content-type-options']]).toEqual([name, 'nosniff']);
      expect([name, answer.headers['cache-control']]).toEqual([name, 'no-store']);
    }
    const stream = new AbortController();
    const events = await fetch(`${srv.base}/events`, { signal: stream.signal });
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(events.headers.get('x-content-type-options')).toBe('nosniff');
    expect(events.headers.get('cache-control')).toBe('no-store');
    stream.abort();
    const login = await raw(srv.port, 'GET', '/instances/h1?login');
    expect([login.status, login.headers.location]).toEqual([302, 'http://127.0.0.1/login']);
    const denied = await raw(srv.port, 'GET', '/instances/h1?upstream');
    // Passed on decoded, so without the upstream's content-encoding (found by review).
    expect([denied.status, denied.body, denied.headers['content-encoding']]).toEqual([
      401,
      'denied',
      undefined,
    ]);
    // A hook's own answer goes out whole: every cookie, its status text (found by review).
    const cookies = await fetch(`${srv.base}/instances/h1?cookies`);
    expect([cookies.status, cookies.statusText, cookies.headers.getSetCookie()]).toEqual([
      403,
      'Go Away',
      ['a=1; Path=/', 'b=2; Path=/'],
    ]);
    for (const answer of [login, denied]) {
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['cache-control']).toBe('no-store');
    }
  });
});
