import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyActor } from 'xstate';
import { createRegistry, MemoryStore, type Registry, type RegistryError } from '../src/index.js';
import { entries, machines } from './fixtures.js';
import { ScheduledStore } from './support/scheduled-store.js';

afterEach(() => entries.clear());

/** Watches a registry for the one invariant that matters: never two live actors for one ID. */
function watch(registry: Registry<typeof machines>) {
  const spawned = new Map<string, AnyActor[]>();
  const violations: string[] = [];
  registry.on('spawned', ({ id, actor }) => {
    const list = spawned.get(id) ?? [];
    const prev = list[list.length - 1];
    if (prev && prev.getSnapshot().status === 'active')
      violations.push(`second live actor for ${id}`);
    list.push(actor);
    spawned.set(id, list);
  });
  return { spawned, violations };
}

describe('spawnSingleton under concurrency', () => {
  for (const durability of ['relaxed', 'strict'] as const) {
    it(`5,000 concurrent calls for one ID yield one actor (${durability})`, async () => {
      const registry = createRegistry({ machines, durability });
      await registry.start();
      const { spawned } = watch(registry);
      const calls = Array.from({ length: 5000 }, (_, i) =>
        registry.ensureSingleton('counter', 'the-one', { input: { label: `call-${i}` } }),
      );
      const results = await Promise.all(calls);
      const actor = results[0]?.actor;
      expect(results.every((r) => r.actor === actor)).toBe(true);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(spawned.get('the-one')).toHaveLength(1);
      expect(entries.get('the-one')).toBe(1);
      const creator = results.findIndex((r) => r.created);
      expect(actor?.getSnapshot().context.label).toBe(`call-${creator}`);
      await registry.close();
    });
  }

  it('thousands of calls over many IDs in random interleavings yield one actor per ID', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.integer({ min: 0, max: 19 }), { minLength: 50, maxLength: 300 }),
        async (s, picks) => {
          entries.clear();
          const registry = createRegistry({
            machines,
            durability: 'strict',
            store: new ScheduledStore(s),
          });
          await registry.start();
          const { spawned, violations } = watch(registry);
          const calls = picks.map((n, i) =>
            s
              .schedule(Promise.resolve(), `call ${i}`)
              .then(() =>
                registry.ensureSingleton('counter', `id-${n}`, { input: { label: `call-${i}` } }),
              ),
          );
          const all = Promise.all(calls);
          await s.waitFor(all);
          const results = await all;
          const byId = new Map<string, Set<AnyActor>>();
          for (const r of results)
            byId.set(r.actor.id, (byId.get(r.actor.id) ?? new Set()).add(r.actor));
          for (const [id, actors] of byId) {
            expect(actors.size).toBe(1);
            expect(spawned.get(id)).toHaveLength(1);
            expect(entries.get(id)).toBe(1);
            expect(results.filter((r) => r.actor.id === id && r.created)).toHaveLength(1);
          }
          expect(violations).toEqual([]);
          const closing = registry.close();
          await s.waitFor(closing);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('interleaved with stop, purge, send, start and close of the same IDs, never two live actors', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('spawn' as const),
        id: fc.integer({ min: 0, max: 2 }),
        replace: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('stop' as const), id: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('purge' as const), id: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant('send' as const), id: fc.integer({ min: 0, max: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(op, { minLength: 5, maxLength: 60 }),
        fc.option(fc.nat(60)),
        fc.boolean(),
        async (s, ops, closeAt, preload) => {
          entries.clear();
          const store = new ScheduledStore(s);
          if (preload) {
            // An instance already in the store: start() restores it while calls race with start.
            const seedStore = new MemoryStore();
            const seed = createRegistry({ machines, store: seedStore });
            await seed.start();
            await seed.spawnSingleton('counter', 'id-0');
            await seed.close();
            store.inject('id-0', seedStore.peek('id-0') ?? '');
            entries.clear();
          }
          const registry = createRegistry({ machines, durability: 'strict', store });
          const { spawned, violations } = watch(registry);
          const starting = registry.start();
          const outcomes: Array<Promise<unknown>> = ops.map((o, i) =>
            s.schedule(Promise.resolve(), `${o.kind} ${o.id} #${i}`).then(async () => {
              if (closeAt !== null && i === closeAt) void registry.close();
              const id = `id-${o.id}`;
              switch (o.kind) {
                case 'spawn':
                  return registry.ensureSingleton(
                    'counter',
                    id,
                    o.replace ? { ifFinished: 'replace' } : {},
                  );
                case 'stop':
                  return registry.stop(id);
                case 'purge':
                  return registry.purge(id, { force: true });
                case 'send':
                  return registry.send(id, { type: 'INC' });
              }
            }),
          );
          const settled = Promise.allSettled([starting, ...outcomes]);
          await s.waitFor(settled);
          for (const r of await settled) {
            if (r.status === 'rejected') {
              expect(['INSTANCE_NOT_FOUND', 'INSTANCE_NOT_RUNNING', 'REGISTRY_CLOSED']).toContain(
                (r.reason as RegistryError).code,
              );
            }
          }
          expect(violations).toEqual([]);
          for (const [id, actors] of spawned) {
            // One entry action per actor ever created: nothing was created twice or in secret.
            expect(entries.get(id)).toBe(actors.length);
            const live = registry.get(id);
            if (live) expect(live).toBe(actors[actors.length - 1]);
          }
          const closing = registry.close();
          await s.waitFor(closing);
          for (const actors of spawned.values())
            for (const a of actors) expect(a.getSnapshot().status).not.toBe('active');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('calls for different IDs never wait on each other', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    class GatedStore extends MemoryStore {
      override async write(id: string, text: string): Promise<void> {
        if (id === 'slow') await gate;
        return super.write(id, text);
      }
    }
    const registry = createRegistry({ machines, durability: 'strict', store: new GatedStore() });
    await registry.start();
    let slowDone = false;
    const slow = registry.spawnSingleton('counter', 'slow').then(() => {
      slowDone = true;
    });
    const slowAgain = registry.spawnSingleton('counter', 'slow');
    const fast = await registry.spawnSingleton('counter', 'fast');
    await registry.send('fast', { type: 'INC' });
    expect(fast.getSnapshot().context.count).toBe(1);
    expect(slowDone).toBe(false);
    release();
    await slow;
    expect(await slowAgain).toBe(registry.get('slow'));
    await registry.close();
  });
});
