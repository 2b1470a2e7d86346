/**
 * An event stream tells its client only of instances its filter selects: the
 * `removed` list of a stream filtered by prefix or type must never name an
 * instance outside it (a tenant allowed only `a/` would learn tenant b's IDs).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { streamMessage } from '../../src/http/event-stream.js';
import { createRegistry, type InstanceStatus, type Registry } from '../../src/index.js';
import { type Listening, serve, tenantPolicy } from './support.js';

// The README's tenant policy: a tenant reaches only IDs under its own prefix.
const authorize = tenantPolicy;

let registry: Registry<typeof demoMachines>;
let server: Listening;
beforeAll(async () => {
  registry = createRegistry({ machines: demoMachines });
  await registry.start();
  await registry.spawnSingleton('approval', 'a/1', { input: { subject: 'mine' } });
  server = await serve(registry, { authorize });
});
afterAll(async () => {
  await server.close();
  await registry.close();
});

/** Opens `path`, runs `act` once the stream is open, and reads until `until` appears. */
async function streamed(path: string, act: () => Promise<void>, until: string): Promise<string> {
  const controller = new AbortController();
  const res = await fetch(`${server.base}${path}`, {
    headers: { 'x-tenant': 'a' },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await reader.read(); // the retry line: the stream is subscribed
  await act();
  let text = '';
  while (!text.includes(until)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  controller.abort();
  return text;
}

it("a stream filtered by prefix never names another prefix's instances", async () => {
  const text = await streamed(
    '/events?idPrefix=a%2F',
    async () => {
      await registry.spawnSingleton('approval', 'b/secret-customer-name', { input: {} });
      await registry.stop('b/secret-customer-name');
      await registry.purge('b/secret-customer-name');
      // Something of a's own changes status too, so that the batch is delivered.
      await registry.send('a/1', { type: 'APPROVE', by: 'ada' });
    },
    '"a/1"',
  );
  expect(text).toContain('a/1');
  expect(text).not.toContain('secret-customer-name');
});

it("a stream filtered by type never names another type's instances, purged or not", async () => {
  await registry.spawnSingleton('approval', 'a/2', { input: {} });
  const text = await streamed(
    '/events?idPrefix=a%2F&type=approval',
    async () => {
      await registry.spawnSingleton('heartbeat', 'a/other-type', { input: {} });
      await registry.stop('a/other-type');
      await registry.spawnSingleton('heartbeat', 'a/other-purged', { input: {} });
      await registry.purge('a/other-purged', { force: true });
      await registry.send('a/2', { type: 'APPROVE', by: 'ada' });
    },
    '"a/2"',
  );
  expect(text).toContain('a/2');
  expect(text).not.toContain('other-type');
  expect(text).not.toContain('other-purged');
});

it('a status change or purge inside the filter is still reported as removed', async () => {
  await registry.spawnSingleton('approval', 'a/3', { input: {} });
  await registry.spawnSingleton('approval', 'a/4', { input: {} });
  const text = await streamed(
    '/events?idPrefix=a%2F&type=approval&status=running',
    async () => {
      await registry.stop('a/3');
      await registry.purge('a/4', { force: true });
    },
    '"a/4"',
  );
  const removed = text
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .flatMap((l) => (JSON.parse(l.slice(5)) as { removed?: string[] }).removed ?? []);
  expect(removed).toEqual(expect.arrayContaining(['a/3', 'a/4']));
});

// One batch (100 ms) can hold a purge and a re-creation of the ID as another
// type: the feed keeps both types, so a stream of the first type still removes it.
it('an ID purged and created again as another type within one batch leaves a stream of its old type', () => {
  const recreated: InstanceStatus = {
    id: 'a/x',
    type: 'heartbeat',
    status: 'running',
    value: 'beating',
    context: {},
    createdAt: '2026-11-29T00:00:00.000Z',
    updatedAt: '2026-11-29T00:00:00.000Z',
    timers: [],
    children: [],
  };
  const batch = {
    statuses: new Map([['a/x', recreated]]),
    statusChanged: new Map([['a/x', new Set(['approval', 'heartbeat'])]]),
    overflow: false,
  };
  const message = (types: string[]) =>
    streamMessage(batch, { limit: 50, types: new Set(types), idPrefix: 'a/' }, (s) => s, undefined);
  expect(message(['approval'])).toMatchObject({ changed: [], removed: ['a/x'] });
  expect(message(['heartbeat'])).toMatchObject({ removed: [] });
  expect(message(['job'])).toBeUndefined();
});
