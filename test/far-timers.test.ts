/**
 * A delay is whatever the machine's delay function returns. The registry
 * dated each pending delayed event `now + delay` and wrote that, but its
 * record parser accepted only due times a `Date` can hold (up to 8.64e15 ms)
 * and not NaN: a running instance waiting on a far-off delay (1e20 ms, or
 * Infinity), or on a NaN or negative delay (which fires at once), was written
 * fine and set aside as a corrupt record at the next start, and was gone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { view } from '../src/cli/cli-output.js';
import type { CliRecord } from '../src/cli/cli-store.js';
import { createRegistry, FileStore, type Registry } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';
import { parseRecord, TestClock } from '../src/testing/index.js';
import { tempDir } from './helpers.js';

const START = Date.UTC(2026, 10, 28);
const DAY = 86_400_000;

const waiting = setup({
  types: { context: {} as { delay: number }, input: {} as { delay: number } },
  delays: { wait: ({ context }) => context.delay },
}).createMachine({
  id: 'waiting',
  context: ({ input }) => ({ delay: input.delay }),
  initial: 'waiting',
  states: { waiting: { after: { wait: 'fired' } }, fired: {} },
});

type Hosting = Registry<{ waiting: typeof waiting }>;

/** A registry over the file store in `dir`, started: a process (re)starting. */
async function started(dir: string, clock: TestClock): Promise<Hosting> {
  const r = createRegistry({ machines: { waiting }, clock, store: new FileStore({ dir }) });
  await r.start();
  return r;
}

/** An instance waiting on `delay`, written, and the registry restarted over its files. */
async function hosting(delay: number) {
  const clock = new TestClock(START);
  const dir = await tempDir();
  const first = await started(dir, clock);
  await first.spawnSingleton('waiting', 'w', { input: { delay } });
  await first.close();
  const r = await started(dir, clock);
  // What the restart set aside (as corrupt), by reason.
  const quarantined = ((await r.quarantined())?.items ?? []).map((item) => item.reason);
  return { r, dir, clock, quarantined };
}

describe('delayed events whatever their delay', () => {
  it.each([
    ['1e20 ms', 1e20],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['just past the Date range', 8.64e15],
    ['Number.MAX_VALUE', Number.MAX_VALUE],
  ])('a delay of %s: the instance waits across restarts and never fires', async (_, delay) => {
    const { r, dir, clock, quarantined } = await hosting(delay);
    try {
      expect(quarantined).toEqual([]);
      const status = await r.getStatus('w');
      expect({
        status: status?.status,
        value: status?.value,
        timers: status?.timers.length,
      }).toEqual({ status: 'running', value: 'waiting', timers: 1 });
      clock.increment(365 * DAY);
      expect(r.get('w')?.getSnapshot().value).toBe('waiting');
    } finally {
      await r.close();
    }
    const again = await started(dir, clock);
    try {
      expect((await again.getStatus('w'))?.value).toBe('waiting');
    } finally {
      await again.close();
    }
  });

  it.each([
    ['NaN', Number.NaN],
    ['-5', -5],
  ])('a delay of %s fires at once, before or after a restart', async (_, delay) => {
    const { r, clock, quarantined } = await hosting(delay);
    try {
      expect(quarantined).toEqual([]);
      expect((await r.getStatus('w'))?.status).toBe('running');
      clock.increment(0);
      expect(r.get('w')?.getSnapshot().value).toBe('fired');
    } finally {
      await r.close();
    }
  });

  it('the command line shows such due times instead of failing (show printed "Invalid time value")', async () => {
    for (const [delay, shown] of [
      [1e20, (now: number) => now + 1e20],
      [Number.POSITIVE_INFINITY, () => 'never'],
    ] as const) {
      const { r, dir, clock } = await hosting(delay);
      await r.close();
      const text = readFileSync(join(dir, 'instances', fileNameFor('w')), 'utf8');
      const record = parseRecord(text);
      expect(view({ record, raw: JSON.parse(text) } as CliRecord).timers).toEqual([
        { event: 'xstate.after.wait.waiting.waiting', dueAt: shown(clock.now()) },
      ]);
    }
  });
});
