// A consumer of the installed tarball, compiled as ESM, as CommonJS and with
// legacy resolution by test/package/check-package.ts. It uses every entry point
// the way the README shows; types are checked too (a wrong type fails tsc), so
// no `any` and no casts.
import { deepStrictEqual } from 'node:assert';
import { assign, setup } from 'xstate';
import { createRegistry, isRegistryError, MemoryStore, RegistryError } from 'xstate-registry';
import { createHttpHandler } from 'xstate-registry/http';
import { PostgresStore } from 'xstate-registry/postgres';
import {
  type ContractExpect,
  type ContractRunner,
  storeContract,
} from 'xstate-registry/store-contract';
import { createTestRegistry } from 'xstate-registry/testing';

const counter = setup({
  types: { context: {} as { count: number }, events: {} as { type: 'INC' } },
}).createMachine({
  id: 'counter',
  context: { count: 0 },
  initial: 'counting',
  states: {
    counting: {
      on: { INC: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
      after: { 60000: 'expired' },
    },
    expired: { type: 'final' },
  },
});
const machines = { counter };

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`consumer check failed: ${what}`);
}

/** `expected`'s properties, recursively, are `actual`'s (vitest's toMatchObject, for plain data and errors). */
function matches(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Object.is(actual, expected);
  if (actual === null || typeof actual !== 'object') return false;
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => matches(actual[i], e))
    );
  }
  return Object.entries(expected).every(([k, v]) => matches(Reflect.get(actual, k), v));
}

/** The few assertions the contract makes, on node:assert: the consumer has no test runner. */
const expect: ContractExpect = (actual) => ({
  toBe: (expected) =>
    check(Object.is(actual, expected), `${String(actual)} is ${String(expected)}`),
  toEqual: (expected) => deepStrictEqual(actual, expected),
  toBeUndefined: () => check(actual === undefined, `${String(actual)} is undefined`),
  toMatchObject: (expected) =>
    check(
      matches(actual, expected),
      `${JSON.stringify(actual)} matches ${JSON.stringify(expected)}`,
    ),
  rejects: {
    toMatchObject: async (expected) => {
      try {
        await actual;
      } catch (err) {
        check(matches(err, expected), `the rejection matches ${JSON.stringify(expected)}`);
        return;
      }
      check(false, `expected a rejection matching ${JSON.stringify(expected)}`);
    },
  },
});

/** `xstate-registry/store-contract` against the installed MemoryStore, run in order. */
async function runStoreContract(): Promise<number> {
  const tests: Array<{ name: string; body: () => Promise<void> }> = [];
  let prefix = '';
  const runner: ContractRunner = {
    describe: (name, body) => {
      const outer = prefix;
      prefix = `${outer}${name} > `;
      body();
      prefix = outer;
    },
    it: (name, body) => {
      tests.push({ name: `${prefix}${name}`, body });
    },
    expect,
  };
  storeContract(
    'MemoryStore',
    async () => {
      const store = new MemoryStore();
      return { store, again: () => store };
    },
    runner,
  );
  for (const test of tests) {
    try {
      await test.body();
    } catch (err) {
      throw new Error(`store contract failed: ${test.name}: ${String(err)}`);
    }
  }
  return tests.length;
}

async function main(): Promise<void> {
  // `xstate-registry`: a registry, typed by the consumer's own xstate. Telemetry is
  // asked for, but @opentelemetry/api (an optional peer) is not installed: a no-op.
  // History is on, read back below.
  const registry = createRegistry({
    machines,
    store: new MemoryStore(),
    telemetry: true,
    history: { maxEntries: 10 },
  });
  await registry.start();
  const actor = await registry.spawnSingleton('counter', 'c1');
  await registry.send('c1', { type: 'INC' });
  const count: number = actor.getSnapshot().context.count;
  check(count === 1, `count after INC is ${count}`);
  const { items } = await registry.history('c1');
  check(
    items.length === 1 && items[0]?.event.type === 'INC' && items[0].source === 'api',
    `history of c1 is ${JSON.stringify(items)}`,
  );
  const refused = await registry.send('', { type: 'INC' }).catch((err: unknown) => err);
  check(
    refused instanceof RegistryError && isRegistryError(refused),
    'a bad ID is a RegistryError',
  );

  // `xstate-registry/http`: the Fetch handler over the same registry.
  const handler = createHttpHandler(registry);
  const res = await handler(new Request('http://localhost/instances/c1'));
  const body = (await res.json()) as { context?: { count?: number } };
  check(res.status === 200 && body.context?.count === 1, `GET /instances/c1 gave ${res.status}`);
  await registry.close();

  // `xstate-registry/testing`: simulated time and a restart.
  const test = await createTestRegistry({ machines });
  await test.spawnSingleton('counter', 't1');
  test.clock.increment(60_000);
  const restarted = await test.restart();
  const status = await restarted.getStatus('t1');
  check(status?.status === 'done', `after 60 s the test actor is ${status?.status}`);
  await restarted.close();

  // `xstate-registry/postgres`: always constructed; used against a real
  // server when the check provides one.
  const url = process.env.DATABASE_URL || undefined;
  const table = process.env.XREG_TABLE ?? 'xstate_registry_consumer';
  const store = new PostgresStore({ connectionString: url ?? 'postgres://localhost/none', table });
  if (url) {
    const first = createRegistry({ machines, store });
    await first.start();
    await first.spawnSingleton('counter', 'p1');
    await first.send('p1', { type: 'INC' });
    await first.close();
    const second = createRegistry({
      machines,
      store: new PostgresStore({ connectionString: url, table }),
    });
    await second.start();
    const resumed = second.get('p1')?.getSnapshot().context.count;
    check(resumed === 1, `the PostgreSQL store resumed count ${resumed}`);
    await second.close();
  } else {
    check(store.ownerId.length > 0, 'the PostgreSQL store has an owner ID');
  }

  // `xstate-registry/store-contract`: the shipped contract, on the shipped MemoryStore.
  const contractTests = await runStoreContract();
  check(contractTests > 0, 'the store contract registered its tests');

  const format = typeof require === 'function' ? 'commonjs' : 'esm';
  console.log(
    `consumer ok: ${format}, postgres ${url ? 'connected' : 'constructed only'}, store contract passed (${contractTests} tests on MemoryStore)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
