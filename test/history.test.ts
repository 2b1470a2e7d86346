import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, sendParent, setup } from 'xstate';
import { createHttpHandler } from '../src/http/index.js';
import {
  createRegistry,
  FileStore,
  type HistoryEntry,
  type Registry,
  RegistryError,
} from '../src/index.js';
import {
  createTestRegistry,
  parseRecord,
  TestClock,
  type TestRegistry,
} from '../src/testing/index.js';
import { counter } from './fixtures.js';
import { tempDir } from './helpers.js';

/** Reports to its parent 100 ms after it starts. */
const worker = setup({}).createMachine({
  id: 'worker',
  initial: 'working',
  states: {
    working: { after: { 100: 'reporting' } },
    reporting: { entry: sendParent({ type: 'CHILD_DONE' }) },
  },
});

/** One transition per source: START (api), after 1 s (timer), CHILD_DONE (child), TICK, FINISH. */
const job = setup({
  types: {
    context: {} as { ticks: number },
    events: {} as
      | { type: 'START'; secret?: string; at?: unknown }
      | { type: 'CHILD_DONE' }
      | { type: 'TICK' }
      | { type: 'FINISH' },
  },
  actors: { worker },
}).createMachine({
  id: 'job',
  context: { ticks: 0 },
  initial: 'idle',
  states: {
    idle: { on: { START: 'waiting' } },
    waiting: { after: { 1000: 'working' } },
    working: { invoke: { id: 'w', src: 'worker' }, on: { CHILD_DONE: 'review' } },
    review: {
      on: {
        TICK: { actions: assign({ ticks: ({ context }) => context.ticks + 1 }) },
        FINISH: 'finished',
      },
    },
    finished: { type: 'final' },
  },
});

const machines = { job, counter };
const T0 = Date.UTC(2026, 0, 1);
const brief = (items: HistoryEntry[]) =>
  items.map((e) => [e.seq, e.source, e.event.type, e.before, e.after]);

let r: TestRegistry<typeof machines> | undefined;
const others: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
  await Promise.allSettled(others.splice(0).map((o) => o.close()));
});

/** Takes the job through one transition of every source; the last by HTTP. */
async function everySource(registry: Registry<typeof machines>, clock: TestClock) {
  await registry.spawnSingleton('job', 'j');
  await registry.send('j', { type: 'START' }); // api
  clock.increment(1000); // timer: waiting → working, the child starts
  clock.increment(100); // the child's CHILD_DONE: working → review
  registry.get('j')?.send({ type: 'TICK' }); // direct
  const handler = createHttpHandler(registry);
  const res = await handler(
    new Request('http://127.0.0.1/instances/j/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'FINISH' }),
    }),
  );
  expect(res.status).toBe(202);
}

const EVERY_SOURCE = [
  [1, 'api', 'START', 'idle', 'waiting'],
  [2, 'timer', 'xstate.after.1000.job.waiting', 'waiting', 'working'],
  [3, 'child', 'CHILD_DONE', 'working', 'review'],
  [4, 'direct', 'TICK', 'review', 'review'],
  [5, 'http', 'FINISH', 'review', 'finished'],
];

describe('history: what each entry records', () => {
  it('journals every root transition with its source, event, state before and after, and time', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await everySource(r, r.clock as TestClock);
    const { items, cursor } = await r.history('j');
    expect(brief(items)).toEqual(EVERY_SOURCE);
    expect(items.map((e) => e.at - T0)).toEqual([0, 1000, 1100, 1100, 1100]);
    expect(cursor).toBeNull();
    // The finished instance keeps its history, and so does its record.
    expect((await r.getStatus('j'))?.status).toBe('done');
    await r.flush();
    expect(parseRecord((await r.store.read('j')) as string).history?.entries).toEqual(items);
  });

  it('keeps the sources across a restart, and continues the sequence', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await r.spawnSingleton('job', 'j');
    await r.send('j', { type: 'START' });
    r = await r.restart();
    (r.clock as TestClock).increment(1000); // the re-armed timer fires in the new process
    (r.clock as TestClock).increment(100);
    expect(brief((await r.history('j')).items)).toEqual(EVERY_SOURCE.slice(0, 3));
  });

  // The new instance's journal started again at 1: a poller's cursor silently read an empty page.
  it('a replacement starts a new journal that continues the sequence, so a cursor still pages on', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    await r.send('c', { type: 'FINISH' });
    const first = await r.history('c');
    expect(first.items.map((e) => e.seq)).toEqual([1, 2]);
    const cursor = String(first.items.at(-1)?.seq);
    await r.spawnSingleton('counter', 'c', { ifFinished: 'replace' });
    await r.send('c', { type: 'INC' });
    const next = await r.history('c', { cursor });
    expect(next.items.map((e) => [e.seq, e.event.type])).toEqual([[3, 'INC']]);
    // Only the new instance's own transitions, and the same after a restart.
    expect((await r.history('c')).items.map((e) => e.seq)).toEqual([3]);
    r = await r.restart();
    await r.send('c', { type: 'INC' });
    expect((await r.history('c')).items.map((e) => e.seq)).toEqual([3, 4]);
  });

  it('is off by default: an empty page, and nothing in the record', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    expect(await r.history('c')).toEqual({ items: [], cursor: null });
    await r.flush();
    expect(parseRecord((await r.store.read('c')) as string)).not.toHaveProperty('history');
    await expect(r.history('nope')).rejects.toMatchObject({ code: 'INSTANCE_NOT_FOUND' });
  });

  it('can be kept for some machine types only', async () => {
    r = await createTestRegistry({ machines, history: { types: ['job'] } });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    await r.spawnSingleton('job', 'j');
    await r.send('j', { type: 'START' });
    expect((await r.history('c')).items).toEqual([]);
    expect((await r.history('j')).items).toHaveLength(1);
  });

  it('stores the event as a JSON copy: it reads the same before and after a restart', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await r.spawnSingleton('job', 'j');
    await r.send('j', { type: 'START', at: new Date(T0) });
    const live = (await r.history('j')).items;
    expect(live[0]?.event).toEqual({ type: 'START', at: new Date(T0).toISOString() });
    r = await r.restart();
    expect((await r.history('j')).items).toEqual(live);
  });
});

describe('history: bounded entries', () => {
  it('keeps only the type of an event whose payload is over 16 KiB, so the state is still stored', async () => {
    r = await createTestRegistry({ machines, history: {}, maxRecordBytes: 64 * 1024 });
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    await r.spawnSingleton('job', 'j');
    await r.send('j', { type: 'START', secret: 'x'.repeat(100_000) });
    await r.flush();
    expect((await r.history('j')).items[0]?.event).toEqual({ type: 'START', truncated: true });
    expect(parseRecord((await r.store.read('j')) as string).snapshot).toMatchObject({
      value: 'waiting',
    });
    expect(errors).toEqual([]);
  });
});

describe('history: redaction', () => {
  it('keeps only what redact returns, in memory and in the store', async () => {
    r = await createTestRegistry({
      machines,
      history: {
        redact: (e) => ({
          ...e,
          event: { ...e.event, secret: e.event.secret ? '***' : undefined },
        }),
      },
    });
    await r.spawnSingleton('job', 'j');
    await r.send('j', { type: 'START', secret: 'hunter2' });
    expect((await r.history('j')).items[0]?.event).toEqual({ type: 'START', secret: '***' });
    await r.flush();
    expect(await r.store.read('j')).not.toContain('hunter2');
  });

  it('a redact hook that throws keeps the event type only, and is reported', async () => {
    r = await createTestRegistry({
      machines,
      history: {
        redact: () => {
          throw new Error('bad hook');
        },
      },
    });
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    await r.spawnSingleton('job', 'j');
    await r.send('j', { type: 'START', secret: 'hunter2' });
    expect((await r.history('j')).items[0]?.event).toEqual({ type: 'START' });
    expect(errors.map((e) => e.code)).toEqual(['LISTENER_FAILED']);
    expect(errors[0]?.message).toContain('bad hook');
    await r.flush();
    expect(await r.store.read('j')).not.toContain('hunter2');
  });
});

describe('history: retention', () => {
  it('keeps the newest maxEntries, in memory, in the record and after a restart', async () => {
    r = await createTestRegistry({ machines, history: { maxEntries: 3 } });
    await r.spawnSingleton('counter', 'c');
    for (let i = 0; i < 5; i++) await r.send('c', { type: 'INC' });
    expect((await r.history('c')).items.map((e) => e.seq)).toEqual([3, 4, 5]);
    await r.flush();
    expect(parseRecord((await r.store.read('c')) as string).history).toMatchObject({
      seq: 5,
      entries: [{ seq: 3 }, { seq: 4 }, { seq: 5 }],
    });
    r = await r.restart();
    await r.send('c', { type: 'INC' });
    expect((await r.history('c')).items.map((e) => e.seq)).toEqual([4, 5, 6]);
  });

  it('drops entries older than maxAgeMs, on read and at each write', async () => {
    r = await createTestRegistry({ machines, history: { maxAgeMs: 1000 } });
    const clock = r.clock as TestClock;
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' }); // at T0
    clock.increment(600);
    await r.send('c', { type: 'INC' }); // at T0 + 600
    clock.increment(500); // the first is now 1100 ms old
    expect((await r.history('c')).items.map((e) => e.seq)).toEqual([2]);
    await r.send('c', { type: 'INC' });
    await r.flush();
    expect(
      parseRecord((await r.store.read('c')) as string).history?.entries.map((e) => e.seq),
    ).toEqual([2, 3]);
    clock.increment(5000);
    expect(await r.history('c')).toEqual({ items: [], cursor: null });
    // Sequence numbers are never reused, even once every entry aged out.
    await r.send('c', { type: 'INC' });
    expect((await r.history('c')).items.map((e) => e.seq)).toEqual([4]);
  });
});

describe('history: paging and bad input', () => {
  it('pages oldest first with an opaque cursor', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await r.spawnSingleton('counter', 'c');
    for (let i = 0; i < 5; i++) await r.send('c', { type: 'INC' });
    const seen: number[][] = [];
    let page = await r.history('c', { limit: 2 });
    seen.push(page.items.map((e) => e.seq));
    while (page.cursor) {
      page = await r.history('c', { limit: 2, cursor: page.cursor });
      seen.push(page.items.map((e) => e.seq));
    }
    expect(seen).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('refuses a bad limit, a forged cursor and a bad option with INVALID_ARGUMENT', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await r.spawnSingleton('counter', 'c');
    for (const options of [{ limit: 0 }, { limit: 1.5 }, { limit: 5000 }, { cursor: 'abc' }]) {
      await expect(r.history('c', options)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(r.history('')).rejects.toMatchObject({ code: 'INVALID_INSTANCE_ID' });
    // A hostile cursor (100,000 characters, a NUL) is named by a short prefix, not echoed whole.
    const long = `../../etc/passwd\u0000${'x'.repeat(100_000)}`;
    const refused = await r.history('c', { cursor: long }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((refused as Error).message).toContain('../../etc/passwd');
    expect((refused as Error).message.length).toBeLessThan(300);
    for (const history of [
      { maxEntries: 0 },
      { maxAgeMs: -1 },
      { redact: 'x' },
      { types: ['nope'] },
      7,
    ]) {
      expect(() => createRegistry({ machines, history: history as never })).toThrow(RegistryError);
    }
  });

  it.each([
    [
      'an entry with an unknown source',
      (h: any) => {
        h.entries[0].source = 'nowhere';
      },
    ],
    // Past 2^53, seq + 1 stops growing: seqs repeat ("never reused" broken), and
    // the instance's next record failed this check: set aside one restart later.
    ['a seq past 2^53', (h: any) => Object.assign(h, { seq: 2 ** 53, entries: [] })],
    [
      'an entry seq past 2^53',
      (h: any) => {
        h.seq = 2 ** 53 + 2;
        h.entries[0].seq = 2 ** 53 + 2;
      },
    ],
  ])(
    'a record whose history has %s is set aside as CORRUPT_RECORD, not loaded',
    async (_, damage) => {
      r = await createTestRegistry({ machines, history: {} });
      await r.spawnSingleton('counter', 'c');
      await r.send('c', { type: 'INC' });
      await r.flush();
      const record = JSON.parse((await r.store.read('c')) as string);
      damage(record.history);
      await r.store.write('c', JSON.stringify(record));
      await r.close();
      const again = createRegistry({
        machines,
        store: r.store,
        clock: r.clock as TestClock,
        history: {},
      });
      others.push(again);
      const summary = await again.start();
      expect(summary.quarantined.map((q) => q.code)).toEqual(['CORRUPT_RECORD']);
      expect(await again.getStatus('c')).toBeUndefined();
    },
  );
});

describe('history: the last safe seq', () => {
  // Accepted at load, the journal's next seq was 2^53: not safe, so the
  // instance's next record failed the load check and was set aside.
  it('a journal at the last safe seq records no more, and its instance keeps loading', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    await r.flush();
    const record = JSON.parse((await r.store.read('c')) as string);
    record.history.seq = Number.MAX_SAFE_INTEGER;
    record.history.entries[0].seq = Number.MAX_SAFE_INTEGER;
    await r.store.write('c', JSON.stringify(record));
    r = await r.restart();
    await r.send('c', { type: 'INC' });
    await r.send('c', { type: 'INC' });
    await r.flush();
    r = await r.restart();
    expect((await r.quarantined())?.items ?? []).toEqual([]);
    expect((await r.getStatus('c'))?.context).toMatchObject({ count: 3 });
    const seqs = (await r.history('c')).items.map((e) => e.seq);
    expect(seqs).toEqual([Number.MAX_SAFE_INTEGER]);
  });
});

describe('history: stored with the instance', () => {
  it('survives a restart over a FileStore', async () => {
    const dir = await tempDir();
    const clock = new TestClock(T0);
    const open = async () => {
      const registry = createRegistry({
        machines,
        clock,
        store: new FileStore({ dir }),
        history: {},
      });
      await registry.start();
      return registry;
    };
    const first = await open();
    await everySource(first, clock);
    const before = await first.history('j');
    await first.close();
    const second = await open();
    others.push(second);
    expect(await second.history('j')).toEqual(before);
    expect(brief(before.items)).toEqual(EVERY_SOURCE);
    const text = await readFile(new FileStore({ dir }).pathOf('j'), 'utf8');
    expect(parseRecord(text).history?.entries).toEqual(before.items);
  });

  it('is read from the store while passive, and continues after activation', async () => {
    r = await createTestRegistry({ machines, history: {}, idleTimeoutMs: 60_000 });
    const clock = r.clock as TestClock;
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    await r.send('c', { type: 'INC' });
    clock.increment(120_000);
    await new Promise((resolve) => setImmediate(resolve));
    await r.flush();
    expect(r.get('c')).toBeUndefined(); // passive
    expect((await r.history('c')).items.map((e) => e.seq)).toEqual([1, 2]);
    await r.send('c', { type: 'INC' }); // activates
    expect((await r.history('c')).items.map((e) => [e.seq, e.source])).toEqual([
      [1, 'api'],
      [2, 'api'],
      [3, 'api'],
    ]);
  });
});

describe('history: HTTP route', () => {
  it('GET /instances/{id}/history answers the same page; 404 unknown; empty when off', async () => {
    r = await createTestRegistry({ machines, history: {} });
    await everySource(r, r.clock as TestClock);
    const actions: string[] = [];
    const handler = createHttpHandler(r, {
      authorize: (_req, action, target) => {
        actions.push(`${action}:${target.id}`);
        return true;
      },
    });
    const get = (path: string) => handler(new Request(`http://127.0.0.1${path}`));
    const res = await get('/instances/j/history?limit=2');
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: HistoryEntry[]; cursor: string };
    expect(page).toEqual(await r.history('j', { limit: 2 }));
    const next = await (await get(`/instances/j/history?limit=2&cursor=${page.cursor}`)).json();
    expect(next).toEqual(await r.history('j', { limit: 2, cursor: page.cursor }));
    expect(actions).toEqual(['read:j', 'read:j']);
    expect((await get('/instances/nope/history')).status).toBe(404);
    expect((await get('/instances/j/history?limit=0')).status).toBe(400);

    const off = await createTestRegistry({ machines });
    others.push(off);
    await off.spawnSingleton('counter', 'c');
    const offRes = await createHttpHandler(off)(
      new Request('http://127.0.0.1/instances/c/history'),
    );
    expect(await offRes.json()).toEqual({ items: [], cursor: null });
  });
});
