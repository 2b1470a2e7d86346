// A consumer of the installed tarball, compiled as ESM, as CommonJS and with
// legacy resolution by test/package/check-package.ts. It uses every entry point
// the way the README shows; types are checked too (a wrong type fails tsc), so
// no `any` and no casts.
import { assign, setup } from 'xstate';
import { createRegistry, isRegistryError, MemoryStore, RegistryError } from 'xstate-registry';
import { createHttpHandler } from 'xstate-registry/http';
import { PostgresStore } from 'xstate-registry/postgres';
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

  const format = typeof require === 'function' ? 'commonjs' : 'esm';
  console.log(`consumer ok: ${format}, postgres ${url ? 'connected' : 'constructed only'}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
