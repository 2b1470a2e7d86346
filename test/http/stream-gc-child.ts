// Run by stream-limit.test.ts with --expose-gc: the Fetch handler alone (no
// toNodeListener), as a framework would call it, with Requests it no longer holds.
import { demoMachines } from '../../examples/machines.js';
import { createHttpHandler } from '../../src/http/index.js';
import { createRegistry } from '../../src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const registry = createRegistry({ machines: demoMachines });
await registry.start();
const handler = createHttpHandler(registry, { maxEventStreams: 3 });
const hangUps: AbortController[] = [];
const bodies: unknown[] = [];
for (let i = 0; i < 3; i++) {
  const hangUp = new AbortController();
  hangUps.push(hangUp);
  // The server keeps the response body it streams; nothing keeps the Request.
  bodies.push(
    (await handler(new Request('http://127.0.0.1/events', { signal: hangUp.signal }))).body,
  );
}
for (let i = 0; i < 5; i++) {
  gc();
  await new Promise((resolve) => setImmediate(resolve));
}
for (const hangUp of hangUps) hangUp.abort();
await new Promise((resolve) => setImmediate(resolve));
const after = await handler(new Request('http://127.0.0.1/events'));
process.stdout.write(JSON.stringify({ status: after.status, held: bodies.length }));
await registry.close();
process.exit(0);
