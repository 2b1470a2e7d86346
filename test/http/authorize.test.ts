import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import type { HttpAction, HttpTarget } from '../../src/http/index.js';
import { createRegistry, type Registry } from '../../src/index.js';
import { codeOf, raw, serve, snapshotOf } from './support.js';

const TOKEN = 's3cret';
const JSON_TYPE = { 'content-type': 'application/json' };

describe('authorize(request, action, target): allow and deny for each action', () => {
  let registry: Registry<typeof demoMachines>;
  let srv: Awaited<ReturnType<typeof serve>>;
  const seen: Array<[HttpAction, HttpTarget]> = [];

  beforeAll(async () => {
    registry = createRegistry({ machines: demoMachines });
    await registry.start();
    srv = await serve(registry, {
      // A bearer token, and a Response of its own for requests without one.
      authorize: async (request, action, target) => {
        seen.push([action, target]);
        const auth = request.headers.get('authorization');
        if (auth === null)
          return new Response('login first', {
            status: 401,
            headers: { 'www-authenticate': 'Bearer' },
          });
        return auth === `Bearer ${TOKEN}`;
      },
    });
  });
  afterAll(async () => {
    await srv.close();
    await registry.close();
  });
  beforeEach(async () => {
    seen.length = 0;
    await registry.ensureSingleton('approval', 'target', { ifFinished: 'replace' });
    if (await registry.getStatus('done-one')) await registry.purge('done-one', { force: true });
    await registry.ensureSingleton('approval', 'done-one');
    await registry.stop('done-one');
  });

  const cases: Array<
    [HttpAction, string, string, Record<string, string>, string, HttpTarget, number]
  > = [
    [
      'create',
      'POST',
      '/instances/approval/new-one',
      JSON_TYPE,
      '{"subject":"x"}',
      { type: 'approval', id: 'new-one' },
      201,
    ],
    ['create', 'POST', '/instances/approval', JSON_TYPE, '', { type: 'approval' }, 201],
    ['read', 'GET', '/instances/target', {}, '', { id: 'target' }, 200],
    ['list', 'GET', '/instances?type=approval', {}, '', {}, 200],
    [
      'send',
      'POST',
      '/instances/target/events',
      JSON_TYPE,
      '{"type":"APPROVE"}',
      { id: 'target' },
      202,
    ],
    ['stop', 'POST', '/instances/target/stop', JSON_TYPE, '', { id: 'target' }, 200],
    [
      'purge',
      'DELETE',
      '/instances/done-one',
      { 'x-requested-with': 'test' },
      '',
      { id: 'done-one' },
      204,
    ],
    ['dashboard', 'GET', '/', {}, '', {}, 200],
  ];

  it.each(cases)(
    '%s (%s %s): denied is 403 and changes nothing; allowed works',
    async (action, method, target, headers, body, expectedTarget, okStatus) => {
      const before = await snapshotOf(registry);
      const denied = await raw(
        srv.port,
        method,
        target,
        { ...headers, authorization: 'Bearer wrong' },
        body,
      );
      expect(denied.status).toBe(403);
      expect(codeOf(denied)).toBe('FORBIDDEN');
      expect(seen).toEqual([[action, expectedTarget]]);
      const anonymous = await raw(srv.port, method, target, headers, body);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBe('Bearer');
      expect(anonymous.body).toBe('login first');
      expect(await snapshotOf(registry)).toBe(before);

      const allowed = await raw(
        srv.port,
        method,
        target,
        { ...headers, authorization: `Bearer ${TOKEN}` },
        body,
      );
      expect(allowed.status).toBe(okStatus);
      if (method !== 'GET') expect(await snapshotOf(registry)).not.toBe(before);
    },
  );

  it('dashboard: the event stream is authorised as dashboard too', async () => {
    const denied = await raw(srv.port, 'GET', '/events', { authorization: 'Bearer wrong' });
    expect(denied.status).toBe(403);
    expect(seen).toEqual([['dashboard', {}]]);
  });

  it('the health probes are not authorised (load balancers carry no token)', async () => {
    expect((await raw(srv.port, 'GET', '/healthz')).status).toBe(200);
    expect((await raw(srv.port, 'GET', '/readyz')).status).toBe(200);
    expect(seen).toEqual([]);
  });

  it('a hook that returns nothing denies; a hook that throws answers 500 INTERNAL without details', async () => {
    const quiet = await serve(registry, { authorize: () => undefined });
    const broken = await serve(registry, {
      authorize: () => {
        throw new Error('db down at /srv/auth/session.js');
      },
    });
    try {
      expect((await raw(quiet.port, 'GET', '/instances')).status).toBe(403);
      const res = await raw(broken.port, 'GET', '/instances');
      expect(res.status).toBe(500);
      expect(codeOf(res)).toBe('INTERNAL');
      expect(res.body).not.toContain('/srv/auth');
    } finally {
      await quiet.close();
      await broken.close();
    }
  });
});
