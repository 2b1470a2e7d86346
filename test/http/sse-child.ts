/**
 * A registry server in its own process for the event-stream memory test: it
 * reports its port, churns instances on request, and measures its own memory.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoMachines } from '../../examples/machines.js';
import * as http from '../../src/http/index.js';
import { createRegistry } from '../../src/index.js';

const registry = createRegistry({ machines: demoMachines });
await registry.start();
// 450 instances with long IDs: one batch of changes is ~110 KB of event-stream data per client.
const ids = Array.from(
  { length: 450 },
  (_, i) => `${String(i).padStart(4, '0')}-${'x'.repeat(236)}`,
);
for (const id of ids)
  await registry.spawnSingleton('heartbeat', id, { input: { intervalMs: 3_600_000 } });
const server = createServer(http.toNodeListener(http.createHttpHandler(registry)));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));

const memory = () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers + m.external;
};
const stats = () =>
  'eventStreamStats' in http
    ? (http as { eventStreamStats: () => unknown }).eventStreamStats()
    : null;

process.on('message', async (msg: { cmd: string; rounds?: number }) => {
  if (msg.cmd === 'memory') process.send?.({ memory: memory(), stats: stats() });
  if (msg.cmd === 'churn') {
    let paused = false;
    for (let round = 0; round < (msg.rounds ?? 0); round++) {
      paused = !paused;
      for (const id of ids) await registry.send(id, { type: paused ? 'PAUSE' : 'RESUME' });
      // Past the stream's 100 ms batching, so that every round is one batch per client.
      await sleep(120);
    }
    process.send?.({ churned: true });
  }
});
process.send?.({ port: (server.address() as AddressInfo).port });
