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
import { createTestRegistry } from '../src/testing/index.js';

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
