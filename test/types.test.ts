/**
 * Type tests: `npm run typecheck` (tsc over test/) checks every `expectTypeOf`
 * and fails on a `@ts-expect-error` line that compiles; vitest runs the calls.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { type Actor, assign, setup } from 'xstate';
import type { InstanceStatus, InternalEvent, RegistryError, StatusOf } from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { counter, reminder } from './fixtures.js';

const job = setup({
  types: {
    context: {} as { day: string; runs: number },
    input: {} as { day: string },
    events: {} as { type: 'RUN' } | { type: 'CANCEL'; reason: string },
    output: {} as { runs: number },
  },
}).createMachine({
  id: 'job',
  context: ({ input }) => ({ day: input.day, runs: 0 }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        RUN: { actions: assign({ runs: ({ context }) => context.runs + 1 }) },
        CANCEL: 'cancelled',
      },
    },
    cancelled: { type: 'final' },
  },
  output: ({ context }) => ({ runs: context.runs }),
});

const machines = { job, counter, reminder };
type M = typeof machines;
let r: TestRegistry<M>;
afterEach(async () => {
  await r?.close().catch(() => {});
});

describe('types', () => {
  it('requires input exactly where the machine requires it', async () => {
    r = await createTestRegistry({ machines });
    // @ts-expect-error job requires { day }
    const missing = r.spawnSingleton('job', 'j0');
    // Without the types, the instance would land in status 'error':
    await missing;
    expect((await r.getStatus('j0'))?.status).toBe('error');
    // @ts-expect-error job requires { day }
    await r.ensureSingleton('job', 'j1', { ifRunning: 'return' }).catch(() => {});
    // @ts-expect-error job's input has the wrong shape
    await r.spawn('job', { input: { day: 1 } }).catch(() => {});
    const actor = await r.spawnSingleton('job', 'j2', { input: { day: 'mon' } });
    expectTypeOf(actor).toEqualTypeOf<Actor<typeof job>>();
    // Machines that take no input (or an optional one) need no options at all.
    await r.spawnSingleton('reminder', 'r1');
    await r.spawnSingleton('counter', 'c1');
    await r.spawn('counter');
    await r.spawnSingleton('counter', 'c2', { input: { label: 'x' } });
  });

  it('types the handle from its machine', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('job', 'j', { input: { day: 'mon' } });
    const handle = r.actor('job', 'j');
    await handle.send({ type: 'RUN' });
    await handle.send({ type: 'CANCEL', reason: 'enough' });
    // @ts-expect-error not an event of job
    await handle.send({ type: 'INC' }).catch(() => {});
    // @ts-expect-error CANCEL needs its reason
    await handle.send({ type: 'CANCEL' }).catch(() => {});
    const status = await handle.getSnapshot();
    expectTypeOf(status.type).toEqualTypeOf<'job'>();
    expectTypeOf(status.context).toEqualTypeOf<{ day: string; runs: number }>();
    expectTypeOf(status.output).toEqualTypeOf<{ runs: number } | undefined>();
    expect(status).toMatchObject({ status: 'done', context: { day: 'mon', runs: 1 } });
    const done = await handle.waitFor((s) => s.context.runs > 0);
    expectTypeOf(done.context.day).toBeString();
    handle.subscribe((s) => expectTypeOf(s.context.runs).toBeNumber()).unsubscribe();
    // @ts-expect-error unknown type name
    expect(() => r.actor('nope', 'j')).toThrow();
  });

  it('types statuses by type name, and as a union discriminated on type otherwise', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('job', 'j', { input: { day: 'tue' } });
    const one = await r.getStatus('j', { type: 'job' });
    expectTypeOf(one).toEqualTypeOf<
      InstanceStatus<'job', { day: string; runs: number }, { runs: number }> | undefined
    >();
    expect(one?.context.day).toBe('tue');
    const any = await r.getStatus('j');
    expectTypeOf(any?.type).toEqualTypeOf<'job' | 'counter' | 'reminder' | undefined>();
    if (any?.type === 'job')
      expectTypeOf(any.context).toEqualTypeOf<{ day: string; runs: number }>();
    if (any?.type === 'counter')
      expectTypeOf(any.context).toEqualTypeOf<{ count: number; label: string }>();
    const page = await r.list({ type: 'job' });
    expectTypeOf(page.items[0]?.context.runs).toEqualTypeOf<number | undefined>();
    expect(page.items.map((s) => s.context.day)).toEqual(['tue']);
    const waited = await r.waitFor('j', (s) => s.context.runs === 0, { type: 'job' });
    expectTypeOf(waited.context).toEqualTypeOf<{ day: string; runs: number }>();
    // @ts-expect-error unknown type name
    await r.getStatus('j', { type: 'nope' }).catch(() => {});
  });

  it('types send where it can: an event some machine accepts', async () => {
    const only = await createTestRegistry({ machines: { job } });
    await only.spawnSingleton('job', 'j', { input: { day: 'wed' } });
    await only.send('j', { type: 'RUN' });
    // @ts-expect-error no machine takes TYPO (at run time the machine ignores it)
    await only.send('j', { type: 'TYPO' });
    expect((await only.getStatus('j', { type: 'job' }))?.context.runs).toBe(1);
    await only.close();
  });

  // stop() and ensureSingleton's status were InstanceStatus (context: unknown) whatever was named.
  it('types the status stop() and ensureSingleton give back', async () => {
    r = await createTestRegistry({ machines });
    const ensured = await r.ensureSingleton('job', 'j', { input: { day: 'mon' } });
    expectTypeOf(ensured.status.context).toEqualTypeOf<{ day: string; runs: number }>();
    const stopped = await r.stop('j', 'done', { type: 'job' });
    expectTypeOf(stopped.context).toEqualTypeOf<{ day: string; runs: number }>();
    expect(stopped).toMatchObject({ status: 'stopped', context: { day: 'mon' } });
    const any = await r.stop('j');
    expectTypeOf(any).toEqualTypeOf<StatusOf<typeof machines>>();
    // @ts-expect-error no machine is called 'nope'
    await expect(r.stop('j', 'x', { type: 'nope' })).rejects.toMatchObject({
      code: 'TYPE_MISMATCH',
    });
  });

  it('types lifecycle events per machine', async () => {
    r = await createTestRegistry({ machines });
    const seen: string[] = [];
    r.on('transition', (e) => {
      if (e.type === 'job') {
        expectTypeOf(e.snapshot.context).toEqualTypeOf<{ day: string; runs: number }>();
        // XState's own events arrive too (a delayed transition, a child's result): typed so.
        expectTypeOf(e.event).toEqualTypeOf<
          { type: 'RUN' } | { type: 'CANCEL'; reason: string } | InternalEvent
        >();
        seen.push(`${e.event.type}:${e.snapshot.context.runs}`);
      }
    });
    r.on('spawned', (e) => {
      if (e.type === 'job') expectTypeOf(e.actor).toEqualTypeOf<Actor<typeof job>>();
    });
    r.on('done', (e) => {
      if (e.type === 'job') expectTypeOf(e.output).toEqualTypeOf<{ runs: number }>();
    });
    r.on('error', (err) => expectTypeOf(err).toEqualTypeOf<RegistryError>());
    await r.spawnSingleton('job', 'j', { input: { day: 'thu' } });
    await r.send('j', { type: 'RUN' });
    expect(seen).toEqual(['RUN:1']);
  });
});

// A status is a JSON copy: its context's Date was typed Date, and .getTime() compiled, then threw.
describe('a status is typed as the JSON copy it is', () => {
  it('Dates as strings, Maps and Sets as entries, BigInts as digits', async () => {
    const when = setup({
      types: {
        context: {} as { at: Date; seen: Map<string, number>; tags: Set<string>; n: bigint },
      },
    }).createMachine({
      context: {
        at: new Date(0),
        seen: new Map([['a', 1]]),
        tags: new Set(['x']),
        n: 2n,
      },
    });
    const reg = await createTestRegistry({ machines: { when } });
    try {
      await reg.spawnSingleton('when', 'w');
      const s = await reg.getStatus('w', { type: 'when' });
      expectTypeOf(s?.context).toEqualTypeOf<
        { at: string; seen: [string, number][]; tags: string[]; n: string } | undefined
      >();
      expect(s?.context).toEqual({
        at: new Date(0).toISOString(),
        seen: [['a', 1]],
        tags: ['x'],
        n: '2',
      });
    } finally {
      await reg.close();
    }
  });
});
