import { afterEach, describe, expect, it } from 'vitest';
import { assign, createMachine, spawnChild } from 'xstate';
import { MemoryStore, type RegistryError } from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';

let r: TestRegistry<any>;
afterEach(() => r?.close().catch(() => {}));

const worker = createMachine({ initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } });

const parent = createMachine({
  context: { count: 0 },
  on: {
    INC: { actions: assign({ count: ({ context }) => context.count + 1 }) },
    // An inline child: its logic is passed directly, not registered in setup({ actors }).
    SPAWN: { actions: spawnChild(worker, { id: 'worker' }) },
  },
});

/** A process restart that does not hide the previous close()'s failure to write. */
async function restart(): Promise<void> {
  const closed = await r.close().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (closed) expect(closed).toMatchObject({ code: 'NOT_SERIALIZABLE' });
  r = await createTestRegistry({ machines: { parent }, store: r.store, clock: r.clock });
}

describe('an actor that spawns an inline child', () => {
  it('is refused at its first write, keeps its last good record, and resumes from it across three restarts', async () => {
    r = await createTestRegistry({ machines: { parent } });
    await r.spawnSingleton('parent', 'p');
    for (let round = 1; round <= 3; round++) {
      const errors: RegistryError[] = [];
      r.on('error', (e) => errors.push(e));
      await r.send('p', { type: 'INC' });
      await r.flush();
      const good = r.store.peek('p');
      expect(JSON.parse(good ?? '').snapshot.context).toEqual({ count: round });
      expect((await r.getStatus('p'))?.persistError).toBeUndefined();

      await r.send('p', { type: 'SPAWN' });
      const refused = await r.flush().catch((e: unknown) => e);
      expect(refused).toMatchObject({
        code: 'NOT_SERIALIZABLE',
        details: { id: 'p', child: 'worker' },
        message: expect.stringMatching(/inline child actor 'worker'.*setup\(\{ actors \}\)/s),
      });
      expect(errors.map((e) => e.code)).toContain('NOT_SERIALIZABLE');
      // Nothing was written: the record is the last good one.
      expect(r.store.peek('p')).toBe(good);
      // The status says the shown (live) state is not the stored one, and why.
      expect(await r.getStatus('p')).toMatchObject({
        status: 'running',
        persistError: { code: 'NOT_SERIALIZABLE', message: expect.stringContaining("'worker'") },
      });

      await restart();
      expect([...r.store.quarantined.values()].map((q) => q.reason)).toEqual([]);
      const resumed = r.get('p');
      expect(resumed?.getSnapshot().status).toBe('active');
      expect(resumed?.getSnapshot().context).toEqual({ count: round });
      expect(Object.keys(resumed?.getSnapshot().children ?? {})).toEqual([]);
    }
  });

  it('stopping it, or its failing, is recorded (the inline child stops with it and is left out)', async () => {
    const failing = createMachine({
      on: {
        SPAWN: { actions: spawnChild(worker, { id: 'worker' }) },
        FAIL: {
          actions: () => {
            throw new Error('boom');
          },
        },
      },
    });
    r = await createTestRegistry({ machines: { parent, failing } });
    r.on('error', () => {});
    await r.spawnSingleton('parent', 'p');
    await r.spawnSingleton('failing', 'f');
    await r.send('p', { type: 'SPAWN' });
    await r.send('f', { type: 'SPAWN' });
    await r.stop('p', 'done with it');
    await r.send('f', { type: 'FAIL' }).catch(() => {});
    await r.flush();
    r = await r.restart();
    expect(r.store.quarantined.size).toBe(0);
    expect(await r.getStatus('p')).toMatchObject({ status: 'stopped', stopReason: 'done with it' });
    expect(await r.getStatus('f')).toMatchObject({ status: 'error', error: { message: 'boom' } });
  });

  it('a record an older version wrote with an inline child is set aside for that reason, not another', async () => {
    const store = new MemoryStore();
    store.inject(
      'old',
      JSON.stringify({
        format: 'xstate-registry/1',
        id: 'old',
        type: 'parent',
        machineVersion: 1,
        status: 'running',
        createdAt: 1,
        updatedAt: 2,
        snapshot: {
          status: 'active',
          value: {},
          historyValue: {},
          context: { count: 1 },
          // What JSON.stringify made of the child's logic object.
          children: { worker: { snapshot: { status: 'active', value: 'a' }, src: { config: {} } } },
        },
        timers: [],
      }),
    );
    // A finished one is only shown, never restored into an actor: it loads.
    const stopped = JSON.parse(store.peek('old') ?? '');
    store.inject(
      'old-stopped',
      JSON.stringify({ ...stopped, id: 'old-stopped', status: 'stopped' }),
    );
    r = await createTestRegistry({ machines: { parent }, store });
    const reason = store.quarantined.get('old')?.reason ?? '';
    expect(reason).toMatch(/^RESTORE_FAILED: .*inline child actor 'worker'/);
    expect(store.quarantined.has('old-stopped')).toBe(false);
    expect(await r.getStatus('old-stopped')).toMatchObject({
      status: 'stopped',
      context: { count: 1 },
    });
  });
});
