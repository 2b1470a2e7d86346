import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { encodeInstanceId } from '../src/http/index.js';
import { createRegistry, type Registry } from '../src/index.js';
import { type Listening, serve } from './http/support.js';

let registry: Registry<typeof demoMachines>;
let server: Listening;
let base: string;

beforeAll(async () => {
  registry = createRegistry({ machines: demoMachines });
  await registry.start();
  server = await serve(registry, { maxBodyBytes: 4096, maxWaitMs: 5000 });
  base = server.base;
});
afterAll(async () => {
  await server.close();
  await registry.close();
});

const enc = encodeInstanceId;
/** DELETE as a script sends it: X-Requested-With marks it as no form or beacon could. */
function del(path: string) {
  return fetch(base + path, { method: 'DELETE', headers: { 'x-requested-with': 'fetch' } });
}
function post(
  path: string,
  body?: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  return fetch(base + path, {
    method: 'POST',
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

describe('POST /instances/{type}/{id}', () => {
  it('201 with Location and links when created, 409 with the existing status when running, 200 with ?ifRunning=return', async () => {
    const res = await post('/instances/job/nightly', { steps: 2, stepMs: 60_000 });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/instances/nightly');
    const body = await res.json();
    expect(body).toMatchObject({
      id: 'nightly',
      type: 'job',
      status: 'running',
      context: { steps: 2 },
    });
    // Relative links: the Host header never makes its way into them.
    expect(body.links).toEqual({
      status: `/instances/nightly`,
      sendEvent: `/instances/nightly/events`,
      stop: `/instances/nightly/stop`,
      purge: `/instances/nightly`,
    });
    const again = await post('/instances/job/nightly', { steps: 9 });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({
      error: { code: 'INSTANCE_EXISTS' },
      instance: { id: 'nightly', context: { steps: 2 } },
    });
    const ret = await post('/instances/job/nightly?ifRunning=return');
    expect(ret.status).toBe(200);
    expect((await ret.json()).context.steps).toBe(2);
  });

  it('200 concurrent requests for one ID: exactly one 201, 409 for the rest, one actor behind them', async () => {
    const spawned: string[] = [];
    const onSpawn = ({ id }: { id: string }) => spawned.push(id);
    registry.on('spawned', onSpawn);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post('/instances/job/stampede', { steps: 1 + (i % 7), stepMs: 60_000 }),
      ),
    );
    registry.off('spawned', onSpawn);
    const codes = answers.map((a) => a.status);
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(199);
    expect(spawned).toEqual(['stampede']);
    const winner = answers[codes.indexOf(201)] as Response;
    const live = registry.get('stampede');
    expect(live).toBeDefined();
    const liveSteps = (live as NonNullable<typeof live>).getSnapshot().context.steps;
    expect((await winner.json()).context.steps).toBe(liveSteps);
  });

  it('replaces a finished instance by default; ?ifFinished=throw answers 409', async () => {
    await post('/instances/approval/po-1');
    await post(`/instances/po-1/events`, { type: 'APPROVE', by: 'ada' });
    expect((await post('/instances/approval/po-1?ifFinished=throw')).status).toBe(409);
    const replaced = await post('/instances/approval/po-1', { subject: 'again' });
    expect(replaced.status).toBe(201);
    expect((await replaced.json()).context.subject).toBe('again');
  });

  it('POST /instances/{type} creates under a generated ID', async () => {
    const res = await post('/instances/heartbeat', { intervalMs: 60_000 });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(res.headers.get('location')).toBe(`/instances/${body.id}`);
    expect(body.id).toMatch(/^[\w-]{21}$/);
  });
});

describe('IDs in URLs', () => {
  it.each([
    'tenant/42/job',
    'with space',
    'ünï/cödé 🙂',
    '.',
    '..',
    '~.',
    '~..',
    '~x',
    'a%2Fb',
    '?#&=',
  ])('round-trips %j', async (id) => {
    const created = await post(`/instances/approval/${enc(id)}`);
    expect(created.status).toBe(201);
    const location = created.headers.get('location') ?? '';
    const got = await fetch(base + location);
    expect(got.status).toBe(200);
    expect((await got.json()).id).toBe(id);
    expect((await post(`/instances/${enc(id)}/events`, { type: 'REJECT' })).status).toBe(202);
    expect((await (await fetch(`${base}/instances/${enc(id)}`)).json()).value).toBe('rejected');
    expect((await del(`/instances/${enc(id)}`)).status).toBe(204);
    expect((await fetch(`${base}/instances/${enc(id)}`)).status).toBe(404);
  });

  it('an instance may be named like a route segment when one character is encoded', async () => {
    expect((await post('/instances/approval/%65vents')).status).toBe(201);
    expect((await (await fetch(`${base}/instances/events`)).json()).id).toBe('events');
  });
});

describe('GET', () => {
  it('/instances/{id} answers the status or 404, and ?waitMs long-polls until it finishes', async () => {
    expect((await fetch(`${base}/instances/nobody`)).status).toBe(404);
    await post('/instances/job/quick', { steps: 1, stepMs: 50 });
    const res = await fetch(`${base}/instances/quick?waitMs=5000`);
    expect(await res.json()).toMatchObject({ status: 'done', output: { stepsDone: 1 } });
    await post('/instances/job/slow', { steps: 1, stepMs: 60_000 });
    const still = await fetch(`${base}/instances/slow?waitMs=20`);
    // Timed out while still running: 202 and when to ask again, like Durable Functions.
    expect(still.status).toBe(202);
    expect(still.headers.get('retry-after')).toBe('1');
    expect((await still.json()).status).toBe('running');
  });

  it('/instances filters and pages with a cursor', async () => {
    for (let i = 0; i < 5; i++) await post(`/instances/approval/page-${i}`);
    const first = await (
      await fetch(`${base}/instances?type=approval&status=running&limit=2`)
    ).json();
    expect(first.items).toHaveLength(2);
    expect(first.cursor).toBeTypeOf('string');
    const ids: string[] = first.items.map((s: { id: string }) => s.id);
    let cursor = first.cursor;
    while (cursor) {
      const page = await (
        await fetch(`${base}/instances?type=approval&status=running&limit=2&cursor=${enc(cursor)}`)
      ).json();
      ids.push(...page.items.map((s: { id: string }) => s.id));
      cursor = page.cursor;
    }
    for (let i = 0; i < 5; i++) expect(ids).toContain(`page-${i}`);
    expect(new Set(ids).size).toBe(ids.length);
    const future = await (
      await fetch(`${base}/instances?createdFrom=${Date.now() + 3600_000}`)
    ).json();
    expect(future.items).toEqual([]);
  });
});

describe('stop and purge', () => {
  it('POST /instances/{id}/stop stops with a reason; DELETE purges (running ones only with ?force=true)', async () => {
    await post('/instances/heartbeat/hb');
    const stop = await post('/instances/hb/stop', { reason: 'maintenance' });
    expect(await stop.json()).toMatchObject({ status: 'stopped', stopReason: 'maintenance' });
    expect((await del('/instances/hb')).status).toBe(204);
    await post('/instances/heartbeat/hb2');
    const refused = await del('/instances/hb2');
    expect(refused.status).toBe(409);
    expect((await refused.json()).error.code).toBe('INSTANCE_RUNNING');
    expect((await del('/instances/hb2?force=true')).status).toBe(204);
  });
});

describe('bad input gets a clear JSON error and never crashes the server', () => {
  it.each([
    ['malformed JSON', () => post('/instances/job/bad-json', '{"steps":'), 400, 'INVALID_JSON'],
    [
      'wrong content type',
      () =>
        post('/instances/job/bad-ct', 'steps=1', {
          'content-type': 'application/x-www-form-urlencoded',
        }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'body over the limit',
      () => post('/instances/job/big', { pad: 'x'.repeat(5000) }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'chunked body over the limit',
      () =>
        fetch(`${base}/instances/job/big2`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode(`{"pad":"${'x'.repeat(5000)}"}`));
              c.close();
            },
          }),
          duplex: 'half',
        } as RequestInit),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['unknown type', () => post('/instances/nope/x'), 404, 'UNKNOWN_MACHINE'],
    [
      'type mismatch',
      async () => {
        await post('/instances/approval/typed');
        return post('/instances/job/typed');
      },
      409,
      'TYPE_MISMATCH',
    ],
    [
      'event to unknown instance',
      () => post('/instances/ghost/events', { type: 'X' }),
      404,
      'INSTANCE_NOT_FOUND',
    ],
    [
      'event without type',
      () => post('/instances/nightly/events', { kind: 'X' }),
      400,
      'INVALID_EVENT',
    ],
    ['event that is an array', () => post('/instances/nightly/events', [1]), 400, 'INVALID_EVENT'],
    ['empty event', () => post('/instances/nightly/events'), 400, 'INVALID_EVENT'],
    ['ID too long', () => post(`/instances/job/${'x'.repeat(300)}`), 400, 'INVALID_INSTANCE_ID'],
    ['control character in ID', () => post('/instances/job/a%00b'), 400, 'INVALID_INSTANCE_ID'],
    [
      'broken percent-encoding',
      () => fetch(`${base}/instances/%E0%A4%A`),
      400,
      'INVALID_INSTANCE_ID',
    ],
    [
      'wrong method',
      () => fetch(`${base}/instances`, { method: 'PUT' }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    ['unknown route', () => fetch(`${base}/nowhere`), 404, 'ROUTE_NOT_FOUND'],
    ['bad query', () => fetch(`${base}/instances?limit=0`), 400, 'INVALID_ARGUMENT'],
    ['bad policy', () => post('/instances/job/p?ifRunning=maybe'), 400, 'INVALID_ARGUMENT'],
    ['bad cursor', () => fetch(`${base}/instances?cursor=nope`), 400, 'INVALID_ARGUMENT'],
    ['bad waitMs', () => fetch(`${base}/instances/nightly?waitMs=-1`), 400, 'INVALID_ARGUMENT'],
  ] as const)('%s', async (_name, call, status, code) => {
    const res = await call();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = await res.json();
    expect(body.error.code).toBe(code);
    expect(body.error.message).toBeTypeOf('string');
    // The server is still fine.
    expect((await fetch(`${base}/instances?limit=1`)).status).toBe(200);
  });

  it('405 names the allowed methods', async () => {
    const res = await fetch(`${base}/instances/nightly/events`, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('a stored __proto__ in an event payload never reaches the context', async () => {
    await post('/instances/approval/proto');
    await post(
      '/instances/proto/events',
      '{"type":"APPROVE","by":"x","__proto__":{"polluted":true}}',
    );
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect((await (await fetch(`${base}/instances/proto`)).json()).context.decidedBy).toBe('x');
  });
});

describe('dashboard', () => {
  it('serves the page and an event stream carrying the changed statuses', async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<title>xstate-registry</title>');
    const controller = new AbortController();
    const stream = await fetch(`${base}/events`, { signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await post('/instances/approval/streamed');
    let text = '';
    while (!text.includes('streamed'))
      text += new TextDecoder().decode((await reader.read()).value);
    const message = JSON.parse(
      (/data: (\{.*"streamed".*\})\n/.exec(text) as string[])[1] as string,
    );
    expect(message.changed).toContainEqual(
      expect.objectContaining({
        id: 'streamed',
        type: 'approval',
        status: 'running',
        value: 'pending',
      }),
    );
    controller.abort();
  });
});
