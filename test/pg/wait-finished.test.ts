import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, type Registry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { freshTable, noPg, server } from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

async function registryOn(table: string) {
  const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
  const registry = createRegistry({
    machines: { counter },
    store,
    takeoverIntervalMs: 60_000,
  }) as unknown as Registry;
  open.push(registry);
  await registry.start();
  return registry;
}

describe.skipIf(noPg)('waitFor on an instance that finished in another process', () => {
  // The HTTP long poll read "running", then the owner stopped it: the waiting
  // process adopts the finished record, and gives it back at once.
  for (const [name, options] of [
    ['without a timeout', {}],
    ['with a timeout', { timeoutMs: 30_000 }],
    ['with a signal', { signal: new AbortController().signal }],
  ] as const) {
    it(`resolves with its stored status, ${name}, while the lease is given back`, async () => {
      const table = freshTable();
      const a = await registryOn(table);
      const b = await registryOn(table);
      for (let i = 0; i < 20; i++) {
        const id = `job-${i}`;
        await a.spawnSingleton('counter', id);
        await a.send(id, { type: 'INC' });
        await a.stop(id, 'done here');
        await a.flush();
        await expect(b.waitFor(id, ['stopped', 'done'], options)).resolves.toMatchObject({
          status: 'stopped',
          stopReason: 'done here',
          context: { count: 1 },
        });
      }
    }, 60_000);
  }
});
