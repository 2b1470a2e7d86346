import { afterEach, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { createRegistry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { freshTable, noPg, server } from './helpers.js';

if (noPg) console.warn(`Skipping PostgreSQL tests: ${noPg}`);

const keeper = setup({
  types: { context: {} as { data: Record<string, unknown> }, input: {} as Record<string, unknown> },
}).createMachine({ context: ({ input }) => ({ data: input }) });

describe.skipIf(noPg)('exact state over PostgreSQL (jsonb)', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((c) => c.close()));
  });
  async function registryOn(table: string) {
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    const registry = createRegistry({ machines: { keeper }, store });
    open.push(registry);
    await registry.start();
    return registry;
  }

  it('a rich state survives the jsonb round trip exactly', async () => {
    const shared = { s: 1 };
    // biome-ignore lint/suspicious/noSparseArray: a hole is a value kind
    const holes = [1, , undefined];
    const make = () => ({
      missing: undefined,
      holes,
      nan: Number.NaN,
      ninf: Number.NEGATIVE_INFINITY,
      nzero: -0,
      huge: 1e300,
      tiny: 5e-324,
      date: new Date(Date.UTC(2026, 10, 27)),
      map: new Map<unknown, unknown>([[1, { a: new Set([2n ** 70n]) }]]),
      regex: /x+/y,
      bytes: new Int16Array([-1, 2]),
      shared: [shared, shared],
    });
    const table = freshTable();
    const first = await registryOn(table);
    await first.spawnSingleton('keeper', 'k', { input: make() });
    await first.flush();
    await first.close();
    const second = await registryOn(table);
    // keeper requires an input; it is ignored here, since 'k' exists.
    const actor = await second.spawnSingleton('keeper', 'k', { input: {} });
    const data = actor.getSnapshot().context.data as ReturnType<typeof make>;
    expect(data).toStrictEqual(make());
    expect(Object.is(data.nzero, -0)).toBe(true);
    expect(1 in data.holes).toBe(false);
    expect(data.shared[0]).toBe(data.shared[1]);
  });
});
