import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createHttpHandler, eventStreamStats } from '../../src/http/index.js';
import { createRegistry, type Registry } from '../../src/index.js';
import { type Listening, serve } from './support.js';

let registry: Registry<typeof demoMachines>;

beforeAll(async () => {
  registry = createRegistry({ machines: demoMachines });
  await registry.start();
});
afterAll(() => registry.close());

/** Opens an event stream on `handler`; `close` hangs up as a browser tab does. */
async function open(handler: (r: Request) => Promise<Response>, path = '/events') {
  const hangUp = new AbortController();
  const response = await handler(new Request(`http://127.0.0.1${path}`, { signal: hangUp.signal }));
  return { response, close: () => hangUp.abort() };
}

describe('open event streams are capped per handler (maxEventStreams)', () => {
  it('refuses the stream past the default of 200 with 503 TOO_MANY_STREAMS and Retry-After, and admits one again once a tab hangs up', async () => {
    const handler = createHttpHandler(registry);
    const streams = [];
    for (let i = 0; i < 200; i++) {
      const s = await open(handler);
      expect(s.response.status).toBe(200);
      streams.push(s);
    }
    const refused = await open(handler);
    expect(refused.response.status).toBe(503);
    expect(refused.response.headers.get('retry-after')).toBe('5');
    const body = (await refused.response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('TOO_MANY_STREAMS');
    expect(body.error.message).toMatch(/maxEventStreams/);
    // Instance routes are not affected.
    expect((await handler(new Request('http://127.0.0.1/instances'))).status).toBe(200);

    streams.pop()?.close();
    const again = await open(handler);
    expect(again.response.status).toBe(200);
    streams.push(again);
    for (const s of streams) s.close();
    expect(eventStreamStats().clients).toBe(0);
  });

  it('counts a stream the client cancels (reader.cancel) as closed, and one on an instance page too', async () => {
    const handler = createHttpHandler(registry, { maxEventStreams: 1 });
    const first = await open(handler, '/events?id=anything');
    expect(first.response.status).toBe(200);
    expect((await open(handler)).response.status).toBe(503);
    await first.response.body?.cancel();
    const second = await open(handler);
    expect(second.response.status).toBe(200);
    second.close();
  });

  it('keeps one count per handler: a second handler on the same registry has its own', async () => {
    const a = createHttpHandler(registry, { maxEventStreams: 1 });
    const b = createHttpHandler(registry, { maxEventStreams: 1 });
    const held = await open(a);
    expect((await open(a)).response.status).toBe(503);
    const other = await open(b);
    expect(other.response.status).toBe(200);
    held.close();
    other.close();
  });

  it('refuses a maxEventStreams that is not a non-negative integer (or Infinity: no cap), at creation', async () => {
    for (const bad of [-1, 1.5, Number.NaN, '10', Number.NEGATIVE_INFINITY])
      expect(() => createHttpHandler(registry, { maxEventStreams: bad as number })).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    const uncapped = createHttpHandler(registry, { maxEventStreams: Number.POSITIVE_INFINITY });
    const many = [];
    for (let i = 0; i < 250; i++) many.push(await open(uncapped));
    expect(many.every((s) => s.response.status === 200)).toBe(true);
    for (const s of many) s.close();
  });

  // Found by review: NaN compared false with everything, so with
  // maxStreamBufferBytes: NaN a client that never read was never dropped, and
  // with maxBodyBytes: NaN no body was too large.
  it('refuses size options that are not whole numbers in range, at creation', async () => {
    for (const [option, bad] of [
      ['maxStreamBufferBytes', Number.NaN],
      ['maxStreamBufferBytes', 10],
      ['maxStreamBufferBytes', Number.POSITIVE_INFINITY],
      ['maxBodyBytes', Number.NaN],
      ['maxBodyBytes', -1],
      ['maxBodyBytes', '1000'],
      ['maxWaitMs', Number.NaN],
      ['maxWaitMs', 1.5],
    ] as const)
      expect(() => createHttpHandler(registry, { [option]: bad as number })).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { option } }),
      );
    expect(() =>
      createHttpHandler(registry, { maxStreamBufferBytes: 64, maxBodyBytes: 0, maxWaitMs: 0 }),
    ).not.toThrow();
  });

  it('over a real server: the refused client gets the JSON answer, not a hung stream', async () => {
    const server: Listening = await serve(registry, { maxEventStreams: 1 });
    try {
      const hangUp = new AbortController();
      const first = await fetch(`${server.base}/events`, { signal: hangUp.signal });
      expect(first.status).toBe(200);
      const second = await fetch(`${server.base}/events`);
      expect(second.status).toBe(503);
      expect(((await second.json()) as { error: { code: string } }).error.code).toBe(
        'TOO_MANY_STREAMS',
      );
      hangUp.abort();
    } finally {
      await server.close();
    }
  });

  it('gives a slot back when the client hangs up even after the Request object was collected (the Fetch handler alone)', async () => {
    // Node's Request follows the caller's signal through a weak reference: once
    // the Request was collected, the hang-up never reached the stream, whose slot stayed taken.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'stream-gc-child.ts')],
      { timeout: 60_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ status: 200, held: 3 });
  }, 90_000);
});
