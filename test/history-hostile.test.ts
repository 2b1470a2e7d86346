import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryOptions } from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { counter } from './fixtures.js';

const machines = { counter };
let r: TestRegistry<typeof machines> | undefined;
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
});

/** Sends INC through `redact`, restarts, and returns what survived. */
async function roundTrip(redact: HistoryOptions['redact'], event: object = { type: 'INC' }) {
  r = await createTestRegistry({ machines, history: { redact } });
  await r.spawnSingleton('counter', 'c');
  await r.send('c', event as { type: 'INC' });
  await r.flush();
  r = await r.restart();
  return { status: await r.getStatus('c'), items: (await r.history('c')).items };
}

describe('history: a redact hook that returns garbage never costs the instance its record', () => {
  it('an entry whose source the hook changed is still a loadable record after a restart', async () => {
    const { status, items } = await roundTrip((e) => ({ ...e, source: 'nowhere' as never }));
    expect(status?.context).toMatchObject({ count: 1 });
    expect(items.map((e) => [e.seq, e.source, e.event.type])).toEqual([[1, 'api', 'INC']]);
  });

  it('an event the hook made cyclic keeps its type, and the record loads after a restart', async () => {
    const { status, items } = await roundTrip((e) => {
      const event: Record<string, unknown> = { type: 'INC' };
      event.self = event;
      return { ...e, event: event as { type: string } };
    });
    expect(status?.context).toMatchObject({ count: 1 });
    expect(items.map((e) => e.event)).toEqual([{ type: 'INC' }]);
  });

  it('an event type the hook made non-string keeps the original type', async () => {
    const { status, items } = await roundTrip((e) => ({ ...e, event: { type: 42 as never } }));
    expect(status?.context).toMatchObject({ count: 1 });
    expect(items.map((e) => e.event.type)).toEqual(['INC']);
  });
});

describe('history: an event sent straight to the actor', () => {
  it('a cyclic payload keeps its type, and the record loads after a restart', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await r.spawnSingleton('counter', 'c');
    const event: Record<string, unknown> = { type: 'INC' };
    event.self = event;
    r.get('c')?.send(event as { type: 'INC' });
    await r.flush();
    r = await r.restart();
    expect((await r.getStatus('c'))?.context).toMatchObject({ count: 1 });
    expect((await r.history('c')).items.map((e) => e.event)).toEqual([{ type: 'INC' }]);
  });
});
