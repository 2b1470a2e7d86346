import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRegistry, FileStore, type InstanceStatus } from '../src/index.js';
import { loaderTuning } from '../src/stores/file-loader.js';
import { fileNameFor } from '../src/stores/file-name.js';
import { machines } from './fixtures.js';
import { tempDir } from './helpers.js';

const defaultFrom = loaderTuning.workerFrom;
afterEach(() => {
  loaderTuning.workerFrom = defaultFrom;
});

/** Every instance's status after a start() over `dir`, and that start's summary. */
async function startOver(dir: string) {
  const registry = createRegistry({ machines, store: new FileStore({ dir }) });
  const summary = await registry.start();
  const statuses: InstanceStatus[] = [];
  let cursor: string | undefined;
  do {
    const page = await registry.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    statuses.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  await registry.close();
  return { summary, statuses };
}

describe('reading a large store in a worker thread', () => {
  it('loads exactly what the main thread loads, in the same order, bad files set aside alike', async () => {
    const dir = await tempDir();
    const seeding = createRegistry({ machines, store: new FileStore({ dir }) });
    await seeding.start();
    // 2,100 instances in 33 batches, each with a context of its own.
    for (let i = 0; i < 2_100; i++) {
      await seeding.spawnSingleton('counter', `c-${i}`);
      for (let k = 0; k < i % 4; k++) await seeding.send(`c-${i}`, { type: 'INC' });
    }
    await seeding.close();
    await writeFile(join(dir, 'instances', fileNameFor('broken')), '{not json');

    loaderTuning.workerFrom = Number.POSITIVE_INFINITY;
    const here = await startOver(dir);
    // The bad file was set aside by that start: put it back for the worker's.
    await writeFile(join(dir, 'instances', fileNameFor('broken')), '{not json');
    loaderTuning.workerFrom = 0;
    const before = { ...loaderTuning.stats };
    const inWorker = await startOver(dir);

    expect(loaderTuning.stats.workers).toBe(before.workers + 1);
    expect(loaderTuning.stats.fallbacks).toBe(before.fallbacks);
    expect(here.statuses).toHaveLength(2_100);
    expect(inWorker.statuses).toEqual(here.statuses);
    expect(inWorker.summary).toEqual(here.summary);
    expect(inWorker.summary.quarantined.map((q) => q.key)).toEqual([fileNameFor('broken')]);
  }, 120_000);

  it('ends its worker when the load is left early', async () => {
    const dir = await tempDir();
    const seeding = createRegistry({ machines, store: new FileStore({ dir }) });
    await seeding.start();
    for (let i = 0; i < 500; i++) await seeding.spawnSingleton('counter', `c-${i}`);
    await seeding.close();
    loaderTuning.workerFrom = 0;
    const store = new FileStore({ dir });
    await store.open();
    const running = loaderTuning.stats.running;
    let seen = 0;
    for await (const _ of store.load()) if (++seen === 3) break;
    await store.close();
    // The worker was waiting to read ahead: it is woken and ends.
    await vi.waitFor(() => expect(loaderTuning.stats.running).toBe(running), { timeout: 10_000 });
  });
});

// A batch was 64 files whatever their size: 64 records of up to maxFileBytes
// each held at once (the CLI's ls over 40 records of 4 MiB needed 170 MB for
// one batch). A batch now ends once it holds 8 Mi characters.
describe('a load batch is bounded in characters as well as in files', () => {
  it.each([
    ['on the main thread', Number.POSITIVE_INFINITY],
    ['in a worker thread', 0],
  ])('%s', async (_, from) => {
    const dir = await tempDir();
    const store = new FileStore({ dir });
    await store.open();
    const MiB = 1024 * 1024;
    for (let i = 0; i < 30; i++)
      await store.write(`big-${i}`, JSON.stringify({ id: `big-${i}`, pad: 'x'.repeat(MiB) }));
    for (let i = 0; i < 30; i++)
      await store.write(`small-${i}`, JSON.stringify({ id: `small-${i}` }));
    loaderTuning.workerFrom = from;
    const sizes: number[] = [];
    let entries = 0;
    const loaded = store.load() as unknown as {
      batches(): AsyncIterable<readonly { kind: string; text?: string }[]>;
    };
    for await (const batch of loaded.batches()) {
      entries += batch.length;
      sizes.push(batch.reduce((n, e) => n + (e.text?.length ?? 0), 0));
    }
    await store.close();
    expect(entries).toBe(60);
    // At most the budget plus the one file that crossed it.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8 * MiB + MiB + 100);
    expect(sizes.length).toBeGreaterThanOrEqual(4);
  });
});
