import { afterEach, describe, expect, it } from 'vitest';
import { createHttpHandler } from '../src/http/index.js';
import { createTestRegistry, type TestClock, type TestRegistry } from '../src/testing/index.js';
import { counter, reminder } from './fixtures.js';

const machines = { reminder, counter };
const T0 = Date.UTC(2026, 0, 1);
let r: TestRegistry<typeof machines> | undefined;
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
});

// reminder: waits 1 s (after), sends PING to its child 'kid' after 2 s, then waits a day.
const WAITING = [
  {
    event: 'xstate.after.1000.reminder.waiting',
    id: 'xstate.after.1000.reminder.waiting',
    dueAt: T0 + 1000,
  },
];

describe('status: pending timers and live children', () => {
  it('shows the pending delayed events and children of a live instance', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('reminder', 'r1');
    const s = await r.getStatus('r1');
    // In the order they were scheduled: the entry's sendTo, then the state's `after`.
    expect(s?.timers).toEqual([
      { event: 'PING', id: expect.any(String), dueAt: T0 + 2000, target: 'kid' },
      ...WAITING,
    ]);
    expect(s?.children).toEqual([{ id: 'kid', src: 'child', status: 'active' }]);
    (r.clock as TestClock).increment(1000);
    expect((await r.getStatus('r1'))?.timers.map((t) => [t.event, t.dueAt - T0])).toEqual([
      ['PING', 2000],
      ['xstate.after.86400000.reminder.reminded', 86_401_000],
    ]);
  });

  it('shows them from the record for a passive instance and after a restart', async () => {
    r = await createTestRegistry({ machines, idleTimeoutMs: 500 });
    await r.spawnSingleton('reminder', 'r1');
    const live = await r.getStatus('r1');
    expect(live?.timers).toHaveLength(2);
    expect(live?.children).toHaveLength(1);
    (r.clock as TestClock).increment(500);
    await new Promise((resolve) => setImmediate(resolve));
    await r.flush();
    expect(r.get('r1')).toBeUndefined(); // passive
    const passive = await r.getStatus('r1');
    expect(passive?.timers).toEqual(live?.timers);
    expect(passive?.children).toEqual(live?.children);
    r = await r.restart();
    expect((await r.getStatus('r1'))?.timers).toEqual(live?.timers);
  });

  it('a finished instance has no timers; one without children lists none; the HTTP status shows both', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'FINISH' });
    expect(await r.getStatus('c')).toMatchObject({ status: 'done', timers: [], children: [] });
    await r.spawnSingleton('reminder', 'r1');
    await r.stop('r1');
    expect(await r.getStatus('r1')).toMatchObject({ status: 'stopped', timers: [] });
    await r.spawnSingleton('reminder', 'r2');
    const res = await createHttpHandler(r)(new Request('http://127.0.0.1/instances/r2'));
    const body = (await res.json()) as { timers: unknown[]; children: unknown[] };
    expect(body.timers).toHaveLength(2);
    expect(body.children).toEqual([{ id: 'kid', src: 'child', status: 'active' }]);
  });
});
