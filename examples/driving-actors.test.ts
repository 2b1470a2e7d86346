/**
 * How a test suite drives registry-hosted actors: directly (`actor.send`) or
 * through the registry, with a simulated clock for timers and `restart()` to
 * prove the state survives a process restart.
 */
import { afterEach, expect, it } from 'vitest';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { demoMachines } from './machines.js';

let registry: TestRegistry<typeof demoMachines>;
afterEach(() => registry.close());

it('an approval expires after a day, even across a restart', async () => {
  registry = await createTestRegistry({ machines: demoMachines });
  const actor = await registry.spawnSingleton('approval', 'po-1138', {
    input: { subject: 'new laptop' },
  });
  expect(actor.getSnapshot().value).toBe('pending');

  registry.clock.increment(23 * 3600_000);
  registry = await registry.restart();
  expect(registry.get('po-1138')?.getSnapshot().value).toBe('pending');

  registry.clock.increment(3600_000);
  expect(await registry.getStatus('po-1138')).toMatchObject({ status: 'done', value: 'expired' });
});

it('events sent straight to the actor are as durable as those sent through the registry', async () => {
  registry = await createTestRegistry({ machines: demoMachines });
  const actor = await registry.spawnSingleton('approval', 'po-2');
  actor.send({ type: 'APPROVE', by: 'grace' });
  registry = await registry.restart();
  expect(await registry.getStatus('po-2')).toMatchObject({
    status: 'done',
    value: 'approved',
    context: { decidedBy: 'grace' },
  });
});

it('a background job runs its steps on the simulated clock', async () => {
  registry = await createTestRegistry({ machines: demoMachines });
  await registry.spawnSingleton('job', 'nightly', { input: { steps: 3, stepMs: 1000 } });
  const finished = registry.waitFor('nightly', 'done');
  registry.clock.increment(2000);
  expect((await registry.getStatus('nightly'))?.context).toMatchObject({ done: 2 });
  registry.clock.increment(1000);
  expect((await finished).output).toEqual({ stepsDone: 3, cancelled: false });
});
