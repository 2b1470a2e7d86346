import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, isRegistryError } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { machines } from '../fixtures.js';
import { freshTable, noPg, server } from './helpers.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return isRegistryError(err) ? err.code : String(err);
  }
}

describe.skipIf(noPg)('a handle across processes (PostgreSQL)', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((c) => c.close()));
  });

  async function registryOn(table: string) {
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    const registry = createRegistry({ machines, store, takeoverIntervalMs: 60_000 });
    open.push(registry);
    await registry.start();
    return registry;
  }

  // Issue 14 superseded "refused with OWNED_ELSEWHERE while another process owns it":
  // the handle now reaches the instance wherever it is hosted.
  it('reaches the instance while another process owns it, and takes it over once that one closes', async () => {
    const table = freshTable();
    const a = await registryOn(table);
    const b = await registryOn(table);
    await a.spawnSingleton('counter', 'c');
    const onA = a.actor('counter', 'c');
    const onB = b.actor('counter', 'c');
    await onA.send({ type: 'INC' });
    await a.flush();
    // Mailed to A, which applies it.
    await onB.send({ type: 'INC' });
    expect(await onA.waitFor((s) => s.context.count === 2, { timeoutMs: 30_000 })).toMatchObject({
      status: 'running',
    });
    expect(b.get('c')).toBeUndefined();
    // The owner goes away (its leases are released): B's handle now takes it over.
    await a.close();
    await onB.send({ type: 'INC' });
    expect(await onB.getSnapshot()).toMatchObject({ status: 'running', context: { count: 3 } });
    // A's handle fails loudly rather than dropping the event.
    expect(await codeOf(onA.send({ type: 'INC' }))).toBe('REGISTRY_CLOSED');
  });
});
