import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createHttpHandler, eventStreamStats } from '../../src/http/index.js';
import { createRegistry, type Registry } from '../../src/index.js';
import { TestClock } from '../../src/testing/index.js';
import { type Listening, serve } from './support.js';

let registry: Registry<typeof demoMachines>;
// Stamps that differ by a millisecond per stop: on the wall clock, stops that
// fell in one millisecond made the newest-updated order a tie (broken by ID).
const clock = new TestClock(Date.UTC(2026, 0, 1));
let server: Listening;
let base: string;

beforeAll(async () => {
  registry = createRegistry({ machines: demoMachines, clock });
  await registry.start();
  server = await serve(registry);
  base = server.base;
});
afterAll(async () => {
  await server.close();
  await registry.close();
});

/** Reads an event stream's messages until `until` says it has what it needs. */
async function messages(
  path: string,
  act: () => Promise<void>,
  until: (all: any[]) => boolean,
): Promise<any[]> {
  const controller = new AbortController();
  const res = await fetch(base + path, { signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read(); // the `retry:` line: the stream is subscribed
  await act();
  const all: any[] = [];
  let text = '';
  while (!until(all)) {
    text += new TextDecoder().decode((await reader.read()).value);
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      const chunk = text.slice(0, end);
      text = text.slice(end + 2);
      if (chunk.startsWith('data: ')) all.push(JSON.parse(chunk.slice(6)));
      end = text.indexOf('\n\n');
    }
  }
  controller.abort();
  return all;
}

describe('GET /events: filtered, batched statuses', () => {
  it('sends the statuses matching the tab filter, the IDs that left it, and the counts', async () => {
    await registry.spawnSingleton('approval', 'es/leaves');
    const got = await messages(
      '/events?status=running&idPrefix=es/&limit=10',
      async () => {
        await registry.spawnSingleton('approval', 'es/new', { input: { subject: 'laptop' } });
        await registry.spawnSingleton('approval', 'other/new');
        await registry.send('es/leaves', { type: 'APPROVE', by: 'ada' });
      },
      (all) =>
        all.some((m) => m.changed?.some((s: any) => s.id === 'es/new')) &&
        all.some((m) => m.removed?.includes('es/leaves')),
    );
    const changed = got.flatMap((m) => m.changed ?? []);
    expect(changed.map((s: any) => s.id)).not.toContain('other/new');
    expect(changed.find((s: any) => s.id === 'es/new')).toMatchObject({
      type: 'approval',
      status: 'running',
      value: 'pending',
      context: { subject: 'laptop' },
    });
    expect(got.at(-1).counts).toMatchObject({ running: 1, done: 1, total: 2 });
  });

  it('caps a message at the tab limit, newest first, however many changed', async () => {
    for (let i = 0; i < 30; i++) await registry.spawnSingleton('approval', `cap/${i}`);
    const got = await messages(
      '/events?idPrefix=cap/&limit=5',
      async () => {
        for (let i = 0; i < 30; i++) {
          clock.increment(1);
          await registry.stop(`cap/${i}`);
        }
      },
      (all) => all.at(-1)?.counts?.stopped === 30,
    );
    for (const m of got) expect(m.changed.length).toBeLessThanOrEqual(5);
    const newest = await (
      await fetch(`${base}/instances?idPrefix=cap/&order=updated&limit=5`)
    ).json();
    const last = got.at(-1).changed.map((s: any) => s.id);
    expect(last.length).toBeGreaterThan(0);
    expect(last).toEqual(newest.items.map((s: any) => s.id).slice(0, last.length));
  });

  it('streams the full status of one instance with ?id=, and its purge', async () => {
    await registry.spawnSingleton('approval', 'one/x');
    await registry.spawnSingleton('approval', 'one/xy');
    const path = `/events?id=${encodeURIComponent('one/x')}`;
    const got = await messages(
      path,
      async () => {
        await registry.send('one/xy', { type: 'REJECT', by: 'bob' });
        await registry.send('one/x', { type: 'REJECT', by: 'bob' });
      },
      (all) => all.some((m) => m.changed.some((s: any) => s.status === 'done')),
    );
    const changed = got.flatMap((m) => m.changed);
    expect(changed.map((s: any) => s.id)).not.toContain('one/xy');
    expect(changed.at(-1)).toMatchObject({
      id: 'one/x',
      status: 'done',
      links: { status: '/instances/one%2Fx' },
    });
    const purged = await messages(
      path,
      () => registry.purge('one/x'),
      (all) => all.some((m) => m.removed.includes('one/x')),
    );
    expect(purged.flatMap((m) => m.changed)).toEqual([]);
  });

  // A message larger than maxStreamBufferBytes (256 KiB here) dropped the client
  // even when it read everything: an instance page whose context is over 256 KiB
  // was cut on every change. It gets a reload notice instead, and reads the status.
  it('tells a client that reads to reload, rather than dropping it, when a change is larger than its buffer', async () => {
    const big = 'x'.repeat(300 * 1024);
    await registry.spawnSingleton('approval', 'big/one', { input: { subject: big } });
    const droppedBefore = eventStreamStats().dropped;
    const path = `/events?id=${encodeURIComponent('big/one')}`;
    let purge: Promise<unknown> | undefined;
    const got = await messages(
      path,
      () => registry.send('big/one', { type: 'APPROVE', by: 'ada' }),
      (all) => {
        // Still open after the notice: a later, small change (the purge) arrives on it.
        if (!purge && all.some((m) => m.reload)) purge = registry.purge('big/one');
        return all.some((m) => m.removed?.includes('big/one'));
      },
    );
    await purge;
    expect(got[0]).toEqual({ reload: true });
    expect(got.at(-1)).toEqual({ changed: [], removed: ['big/one'] });
    expect(eventStreamStats().dropped).toBe(droppedBefore);
  });

  // Found by review: a message smaller than the buffer, arriving while the
  // client had not yet read what was queued, still dropped it.
  it('sends a reload notice, not a drop, when a change does not fit in what is left of the buffer', async () => {
    const handler = createHttpHandler(registry, { maxStreamBufferBytes: 2000 });
    const res = await handler(new Request('http://localhost/events?id=fit%2Fone'));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    // Unread, the first change's message (about 1,200 bytes) stays queued; the
    // second's fits in 2,000 bytes alone, not beside it.
    const queued = eventStreamStats().queuedBytes;
    await registry.spawnSingleton('approval', 'fit/one', { input: { subject: 'x'.repeat(800) } });
    await vi.waitFor(() => expect(eventStreamStats().queuedBytes).toBeGreaterThan(queued + 1000));
    const first = eventStreamStats().queuedBytes;
    await registry.send('fit/one', { type: 'APPROVE', by: 'ada' });
    // Still unread when the second change goes out: it was queued or the client dropped.
    await vi.waitFor(() => expect(eventStreamStats().queuedBytes).not.toBe(first));
    let text = '';
    while (!text.includes('"reload":true')) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the stream ended: ${text.slice(0, 300)}`);
      text += new TextDecoder().decode(value);
    }
    expect(text.startsWith('retry: 2000\n\n')).toBe(true);
    // The first change as it was, then the notice in place of the second.
    expect(text.match(/"status":"running"/g)).toHaveLength(1);
    expect(text).not.toContain('"status":"done"');
    await reader.cancel();
  });

  it('rejects a bad filter with 400 INVALID_ARGUMENT', async () => {
    const res = await fetch(`${base}/events?status=sleeping`);
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('INVALID_ARGUMENT');
  });

  it('serves counts at GET /counts and newest-updated lists at GET /instances?order=updated', async () => {
    const counts = await (await fetch(`${base}/counts?idPrefix=cap/`)).json();
    expect(counts).toEqual({ running: 0, done: 0, error: 0, stopped: 30, total: 30 });
    const page = await (
      await fetch(`${base}/instances?idPrefix=cap/&order=updated&limit=2`)
    ).json();
    expect(page.items.map((s: any) => s.id)).toEqual(['cap/29', 'cap/28']);
  });
});
