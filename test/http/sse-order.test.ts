import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createHttpHandler, toNodeListener } from '../../src/http/index.js';
import { createRegistry, type Registry } from '../../src/index.js';

let registry: Registry<typeof demoMachines>;
let server: Server;
let base: string;

beforeAll(async () => {
  registry = createRegistry({ machines: demoMachines });
  await registry.start();
  server = createServer(toNodeListener(createHttpHandler(registry)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await registry.close();
});

describe('GET /events: messages in the order of the changes', () => {
  it('a slow count for an older batch never lets its stale status arrive after a newer one', async () => {
    // Fault injection: the first count (a busy database) answers only after the second.
    const counts = registry.counts.bind(registry);
    let calls = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    registry.counts = (async (options) => {
      const n = ++calls;
      if (n === 1) await held;
      const answer = await counts(options);
      if (n === 2) setTimeout(release, 0);
      return answer;
    }) as typeof registry.counts;

    const controller = new AbortController();
    const res = await fetch(`${base}/events?idPrefix=ord/`, { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // `retry:`: subscribed
    await registry.spawnSingleton('approval', 'ord/1');
    // The spawn's batch is out (its count is held) before the approval changes the status.
    while (calls < 1) await new Promise((r) => setTimeout(r, 10));
    await registry.send('ord/1', { type: 'APPROVE', by: 'ada' });
    const got: any[] = [];
    let text = '';
    while (got.length < 2) {
      text += new TextDecoder().decode((await reader.read()).value);
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
        const chunk = text.slice(0, end);
        text = text.slice(end + 2);
        if (chunk.startsWith('data: ')) got.push(JSON.parse(chunk.slice(6)));
      }
    }
    controller.abort();
    expect(got.map((m) => m.changed.map((s: any) => [s.id, s.status]))).toEqual([
      [['ord/1', 'running']],
      [['ord/1', 'done']],
    ]);
  }, 30_000);
});
