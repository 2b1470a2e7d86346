import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { createRegistry, FileStore, MemoryStore } from '../../src/index.js';
import { serve } from './support.js';

/** A counter with events that always change it (INC, DEC) and one it ignores (NOOP). */
const counter = setup({
  types: {
    context: {} as { n: number },
    events: {} as { type: 'INC' } | { type: 'DEC' } | { type: 'NOOP' },
  },
}).createMachine({
  context: { n: 0 },
  on: {
    INC: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    DEC: { actions: assign({ n: ({ context }) => context.n - 1 }) },
  },
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A small deterministic generator, so a failing interleaving can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('POST /instances/{id}/events answers `changed` for its own event, whatever else reaches the instance', () => {
  // Strict sends over a FileStore wait for fsync: other requests run meanwhile.
  for (const [durability, storeKind] of [
    ['relaxed', 'memory'],
    ['strict', 'file'],
  ] as const) {
    it(`${durability}, ${storeKind} store: in 40 random interleavings of INC, DEC and NOOP, every INC and DEC says changed and every NOOP does not`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'xr-changed-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const registry = createRegistry({
        machines: { counter },
        store: storeKind === 'file' ? new FileStore({ dir }) : new MemoryStore(),
        durability,
      });
      await registry.start();
      const server = await serve(registry);
      cleanups.push(
        () => server.close(),
        () => registry.close(),
      );
      await registry.spawnSingleton('counter', 'c');
      const wrong: string[] = [];
      for (let round = 0; round < 40; round++) {
        const random = rng(round + 1);
        const types = Array.from({ length: 24 }, () => {
          const r = random();
          return r < 0.35 ? 'INC' : r < 0.7 ? 'DEC' : 'NOOP';
        });
        const answers = await Promise.all(
          types.map(async (type, i) => {
            // Keyed half of the time: the slower delivery path, with its own awaits.
            const keyed = random() < 0.5;
            const res = await fetch(`${server.base}/instances/c/events`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                ...(keyed ? { 'idempotency-key': `r${round}-${i}` } : {}),
              },
              body: JSON.stringify({ type }),
            });
            expect(res.status).toBe(202);
            return (await res.json()).changed as boolean;
          }),
        );
        answers.forEach((changed, i) => {
          if (changed !== (types[i] !== 'NOOP'))
            wrong.push(`round ${round} #${i} ${types[i]}: ${changed}`);
        });
      }
      expect(wrong).toEqual([]);
    }, 120_000);
  }

  it('a repeated idempotency key says changed: false, even while other events change the instance', async () => {
    const registry = createRegistry({ machines: { counter } });
    await registry.start();
    const server = await serve(registry);
    cleanups.push(
      () => server.close(),
      () => registry.close(),
    );
    await registry.spawnSingleton('counter', 'c');
    const post = (type: string, key?: string) =>
      fetch(`${server.base}/instances/c/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: JSON.stringify({ type }),
      }).then(async (r) => (await r.json()).changed as boolean);
    expect(await post('INC', 'once')).toBe(true);
    const [repeat, ...others] = await Promise.all([
      post('INC', 'once'),
      post('INC'),
      post('DEC'),
      post('INC'),
    ]);
    expect(repeat).toBe(false);
    expect(others).toEqual([true, true, true]);
    expect((await registry.getStatus('c'))?.context).toEqual({ n: 2 });
  });
});
