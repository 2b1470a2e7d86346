/**
 * `changed` in the answer to POST /instances/{id}/events is exact. For a
 * passivated instance whose context held a Map or a BigInt, an event its state
 * ignores answered `changed: true`: the state before it came from the stored
 * status, a JSON view (a Map as {}), compared with the live state after it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { createHttpHandler } from '../../src/http/index.js';
import { createTestRegistry, type TestRegistry } from '../../src/testing/index.js';

const rich = setup({
  types: { context: {} as { m: Map<string, number>; n: bigint } },
}).createMachine({
  id: 'rich',
  context: () => ({ m: new Map([['a', 1]]), n: 10n }),
  initial: 'idle',
  on: { ADD: { actions: assign({ m: ({ context }) => new Map([...context.m, ['b', 2]]) }) } },
  states: { idle: { on: { GO: 'busy' } }, busy: {} },
});
const machines = { rich };

let r: TestRegistry<typeof machines>;
let handler: (req: Request) => Promise<Response>;
beforeAll(async () => {
  r = await createTestRegistry({ machines, idleTimeoutMs: 60_000 });
  handler = createHttpHandler(r);
});
afterAll(async () => {
  await r.close();
});

const send = async (id: string, event: object) => {
  const res = await handler(
    new Request(`http://localhost/instances/${id}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', host: 'localhost' },
      body: JSON.stringify(event),
    }),
  );
  return { status: res.status, changed: ((await res.json()) as { changed: boolean }).changed };
};

/** Spawns `id` and lets idle passivation unload it. */
async function passive(id: string): Promise<void> {
  await r.spawnSingleton('rich', id);
  r.clock.increment(120_000);
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  expect(r.get(id)).toBeUndefined();
}

it.each([
  ['an ignored event', false, { type: 'NOPE' }],
  ['an event that changes only the Map', true, { type: 'ADD' }],
  ['an event that changes the state', true, { type: 'GO' }],
])('%s on a passivated instance with a Map and a BigInt: changed %s', async (_, changed, event) => {
  const id = `p-${event.type}`;
  await passive(id);
  expect(await send(id, event)).toEqual({ status: 202, changed });
});

it.each([
  ['an ignored event', false, { type: 'NOPE' }],
  ['an event that changes only the Map', true, { type: 'ADD' }],
])('%s on a live one: changed %s, the same', async (_, changed, event) => {
  const id = `l-${event.type}`;
  await r.spawnSingleton('rich', id);
  expect(await send(id, event)).toEqual({ status: 202, changed });
});
