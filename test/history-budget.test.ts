/**
 * The history journal is written in the instance's record. Each entry's
 * payload was capped (16 KiB of JSON), but not the journal: with a 64 KiB
 * `maxRecordBytes`, five events of 15 KB made a ten-byte state unwritable
 * (SNAPSHOT_TOO_LARGE at every write), and a restart lost every change since.
 * The journal now takes at most a quarter of `maxRecordBytes`: the oldest
 * entries go first, and an entry larger than that keeps its event type only.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { HistoryLog, resolveHistory } from '../src/history.js';
import { createTestRegistry, TestClock } from '../src/testing/index.js';

const notes = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'NOTE'; text: string } },
}).createMachine({
  id: 'notes',
  context: { n: 0 },
  initial: 'a',
  states: { a: { on: { NOTE: { actions: assign({ n: ({ context }) => context.n + 1 }) } } } },
});
const LIMIT = 64 * 1024;

describe('the history journal within maxRecordBytes', () => {
  it('events with large payloads never make the state unwritable; the newest entries are kept whole', async () => {
    let r = await createTestRegistry({ machines: { notes }, history: {}, maxRecordBytes: LIMIT });
    const errors: string[] = [];
    r.on('error', (e) => errors.push(e.code));
    await r.spawnSingleton('notes', 'doc');
    for (let i = 1; i <= 12; i++) {
      await r.send('doc', { type: 'NOTE', text: `${i}:${'x'.repeat(15_000)}` });
      await r.flush();
    }
    expect(errors).toEqual([]);
    expect((await r.getStatus('doc'))?.persistError).toBeUndefined();
    const text = r.store.peek('doc') ?? '';
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMIT);
    r = await r.restart();
    try {
      expect((await r.getStatus('doc'))?.context).toEqual({ n: 12 });
      const { items } = await r.history('doc', { limit: 100 });
      // The newest entry is kept with its payload; the journal fits a quarter of the limit.
      const last = items[items.length - 1];
      expect((last?.event as { text?: string } | undefined)?.text?.startsWith('12:')).toBe(true);
      expect(Buffer.byteLength(JSON.stringify(items))).toBeLessThanOrEqual(LIMIT / 4);
      expect(items.length).toBeGreaterThan(0);
      expect(items.length).toBeLessThan(13);
    } finally {
      await r.close();
    }
  });

  it('an entry larger than the whole budget keeps its event type only, and is marked truncated', async () => {
    const r = await createTestRegistry({
      machines: { notes },
      history: {},
      maxRecordBytes: 16 * 1024,
    });
    try {
      await r.spawnSingleton('notes', 'doc');
      await r.send('doc', { type: 'NOTE', text: 'y'.repeat(10_000) });
      await r.flush();
      const { items } = await r.history('doc');
      expect(items[items.length - 1]?.event).toEqual({ type: 'NOTE', truncated: true });
      expect((await r.getStatus('doc'))?.persistError).toBeUndefined();
    } finally {
      await r.close();
    }
  });
});

describe('the journal’s own count of its bytes', () => {
  it('is the UTF-8 size of its entries as JSON, whatever they hold', () => {
    const config = resolveHistory({ maxEntries: 50 }, new TestClock(1_000), () => {});
    if (!config) throw new Error('history is on');
    const log = new HistoryLog();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const events = [
      { type: 'A' },
      { type: 'É', note: 'naïve ✓ 𝄞' },
      { type: 'B', big: 10n },
      { type: 'C', nested: { list: [1, 'two', null] }, gone: undefined },
      { type: 'D', cyclic },
      { type: 'E', text: 'z'.repeat(20_000) },
    ];
    for (const [i, event] of events.entries()) {
      log.add(config, 'api', event, { step: i, é: 'ü' });
    }
    expect(log.entries).toHaveLength(6);
    const measured = log.entries.reduce((n, e) => n + Buffer.byteLength(JSON.stringify(e)), 0);
    expect(log.bytes).toBe(measured);
    // Loaded from a record, the same entries count the same.
    expect(new HistoryLog({ seq: log.seq, entries: log.entries }).bytes).toBe(measured);
  });
});
