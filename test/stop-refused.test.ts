import { describe, expect, it } from 'vitest';
import { assign, createMachine, spawnChild } from 'xstate';
import { createRegistry, MemoryStore } from '../src/index.js';

// A stop whose final record the store would refuse (over maxRecordBytes) used
// to stop the actor anyway: stopped in memory, running on disk, so a restart
// ran it again, and a second stop answered success over the same gap.

const job = createMachine({
  id: 'job',
  initial: 'working',
  context: { n: 1 },
  states: { working: { on: { TICK: {} } } },
});
const machines = { job };
const LIMIT = 2000;
const note = createMachine({
  id: 'note',
  context: { text: '' },
  on: {
    SET: { actions: assign({ text: ({ event }) => (event as unknown as { text: string }).text }) },
  },
});

async function hosted(durability: 'strict' | 'relaxed', store = new MemoryStore()) {
  const registry = createRegistry({ machines, store, maxRecordBytes: LIMIT, durability });
  await registry.start();
  return { registry, store };
}

describe.each(['strict', 'relaxed'] as const)(
  'stop with a final record too large to store (%s)',
  (durability) => {
    it('is refused before anything stops: the instance keeps running here and on disk, and a shorter reason then stops it for good', async () => {
      const { registry, store } = await hosted(durability);
      await registry.spawnSingleton('job', 'j');
      await registry.flush();
      await expect(registry.stop('j', 'x'.repeat(3 * LIMIT))).rejects.toMatchObject({
        code: 'SNAPSHOT_TOO_LARGE',
        message: expect.stringMatching(/not stopped/),
        details: { id: 'j', limit: LIMIT },
      });
      expect((await registry.getStatus('j'))?.status).toBe('running');
      await registry.send('j', { type: 'TICK' });
      // A retry is refused again, never answered with a stop the store lacks.
      await expect(registry.stop('j', 'y'.repeat(3 * LIMIT))).rejects.toMatchObject({
        code: 'SNAPSHOT_TOO_LARGE',
      });
      await registry.flush();
      expect(JSON.parse(store.peek('j') as string).status).toBe('running');

      expect((await registry.stop('j', 'short'))?.status).toBe('stopped');
      await registry.close();
      const again = createRegistry({ machines, store, maxRecordBytes: LIMIT });
      await again.start();
      expect(await again.getStatus('j')).toMatchObject({ status: 'stopped', stopReason: 'short' });
      await again.close();
    });

    it('a reason that fits exactly is not refused: the check is the real final record', async () => {
      const { registry, store } = await hosted(durability);
      await registry.spawnSingleton('job', 'k');
      await registry.flush();
      // Grow the reason to the largest that fits, measured by stopping copies.
      const fits = async (length: number) => {
        const probe = await hosted(durability, new MemoryStore());
        await probe.registry.spawnSingleton('job', 'k');
        try {
          await probe.registry.stop('k', 'r'.repeat(length));
          await probe.registry.flush();
          return true;
        } catch {
          return false;
        } finally {
          await probe.registry.close().catch(() => {});
        }
      };
      let lo = 0;
      let hi = LIMIT;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (await fits(mid)) lo = mid;
        else hi = mid - 1;
      }
      expect(lo).toBeGreaterThan(LIMIT / 2);
      // One more character is refused by the stop itself, which leaves it running.
      await expect(registry.stop('k', 'r'.repeat(lo + 1))).rejects.toMatchObject({
        code: 'SNAPSHOT_TOO_LARGE',
      });
      expect((await registry.getStatus('k'))?.status).toBe('running');
      await registry.stop('k', 'r'.repeat(lo));
      await registry.flush();
      const record = JSON.parse(store.peek('k') as string);
      expect(record.status).toBe('stopped');
      // Exactly at the limit (the reason is ASCII): a check stricter than the write would stop short of it.
      expect(Buffer.byteLength(store.peek('k') as string)).toBe(LIMIT);
      await registry.close();
    });
  },
);

describe('stop of an instance whose end is not stored (strict)', () => {
  it('answers with the refusal, not with a status the store does not hold', async () => {
    const ender = createMachine({
      id: 'ender',
      initial: 'working',
      context: { blob: '' },
      states: {
        working: {
          on: {
            END: { target: 'ended', actions: assign({ blob: ({ event }) => event.blob }) },
          },
        },
        ended: { type: 'final' },
      },
    });
    const store = new MemoryStore();
    const registry = createRegistry({
      machines: { ender },
      store,
      maxRecordBytes: LIMIT,
      durability: 'strict',
    });
    registry.on('error', () => {});
    await registry.start();
    await registry.spawnSingleton('ender', 'e');
    await expect(
      registry.send('e', { type: 'END', blob: 'z'.repeat(3 * LIMIT) }),
    ).rejects.toMatchObject({ code: 'SNAPSHOT_TOO_LARGE' });
    expect((await registry.getStatus('e'))?.status).toBe('done');
    expect(JSON.parse(store.peek('e') as string).status).toBe('running');
    await expect(registry.stop('e')).rejects.toMatchObject({ code: 'SNAPSHOT_TOO_LARGE' });
    await registry.close().catch(() => {});
  });
});

describe.each(['strict', 'relaxed'] as const)(
  'stop refusals that no reason fixes (%s)',
  (durability) => {
    it('an inline child does not get a stop past the check: its final record (children left out) is what is measured', async () => {
      const job = createMachine({
        id: 'job',
        initial: 'idle',
        states: {
          idle: {
            on: {
              GO: { target: 'working', actions: spawnChild(createMachine({}), { id: 'worker' }) },
            },
          },
          working: {},
        },
      });
      const store = new MemoryStore();
      const registry = createRegistry({
        machines: { job },
        store,
        maxRecordBytes: LIMIT,
        durability,
      });
      registry.on('error', () => {});
      await registry.start();
      await registry.spawnSingleton('job', 'j');
      await registry.flush();
      await registry.send('j', { type: 'GO' }).catch(() => {});
      await expect(registry.stop('j', 'x'.repeat(3 * LIMIT))).rejects.toMatchObject({
        code: 'SNAPSHOT_TOO_LARGE',
      });
      expect((await registry.getStatus('j'))?.status).toBe('running');
      // A reason that fits stops it, inline child and all.
      expect((await registry.stop('j', 'enough'))?.status).toBe('stopped');
      await registry.flush();
      expect(JSON.parse(store.peek('j') as string)).toMatchObject({
        status: 'stopped',
        stopReason: 'enough',
      });
      await registry.close();
    });

    it('a state that cannot be stored at all: the refusal says to purge, not to shorten the reason', async () => {
      const store = new MemoryStore();
      const registry = createRegistry({
        machines: { note },
        store,
        maxRecordBytes: LIMIT,
        durability,
      });
      registry.on('error', () => {});
      await registry.start();
      await registry.spawnSingleton('note', 'n');
      await registry.send('n', { type: 'SET', text: 'z'.repeat(3 * LIMIT) }).catch(() => {});
      const refused = await registry.stop('n', 'short').catch((e: Error) => e);
      expect(refused).toMatchObject({ code: 'SNAPSHOT_TOO_LARGE' });
      expect((refused as Error).message).toMatch(/purge\(id, \{ force: true \}\)/);
      expect((refused as Error).message).not.toMatch(/shorter reason/);
      await registry.purge('n', { force: true });
      await registry.close();
    });
  },
);
