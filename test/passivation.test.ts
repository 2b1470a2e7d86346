import { afterEach, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createRegistry, MemoryStore, type RegistryError } from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { entries, machines } from './fixtures.js';

const all = { ...machines, ...demoMachines };
let r: TestRegistry<typeof all>;
afterEach(async () => {
  await r?.close().catch(() => {});
  entries.clear();
});

async function idleRegistry(idleTimeoutMs = 60_000) {
  r = await createTestRegistry({ machines: all, idleTimeoutMs });
  const log: string[] = [];
  r.on('passivated', ({ id }) => log.push(`passivated:${id}`));
  r.on('activated', ({ id }) => log.push(`activated:${id}`));
  return log;
}

/** Lets the passivation's store writes (real promises) settle after the clock moved. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('idle passivation', () => {
  it('unloads an idle actor; it stays addressable with its state', async () => {
    const log = await idleRegistry();
    const a = await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' });
    r.clock.increment(59_000);
    await settle();
    expect(r.get('c')).toBe(a); // not idle long enough
    r.clock.increment(60_000);
    await settle();
    expect(log).toEqual(['passivated:c']);
    expect(r.get('c')).toBeUndefined();
    expect(a.getSnapshot().status).toBe('stopped');
    // getStatus and list read the stored record: no activation.
    expect(await r.getStatus('c')).toMatchObject({ status: 'running', context: { count: 1 } });
    expect((await r.list({ status: 'running' })).items.map((s) => s.context)).toEqual([
      { count: 1, label: 'none' },
    ]);
    expect(log).toEqual(['passivated:c']);
  });

  it('send activates exactly once under 100 concurrent calls, without re-running entry actions', async () => {
    const log = await idleRegistry();
    await r.spawnSingleton('counter', 'c');
    r.clock.increment(120_000);
    await settle();
    expect(r.get('c')).toBeUndefined();
    await Promise.all(Array.from({ length: 100 }, () => r.send('c', { type: 'INC' })));
    expect(log).toEqual(['passivated:c', 'activated:c']);
    expect(r.get('c')?.getSnapshot().context.count).toBe(100);
    expect(entries.get('c')).toBe(1);
  });

  it('spawnSingleton and waitFor activate it, once, and every caller gets the same actor', async () => {
    const log = await idleRegistry();
    await r.spawnSingleton('counter', 'c');
    r.clock.increment(120_000);
    await settle();
    const waiting = r.waitFor('c', (s) => (s.context as { count: number }).count === 1);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => r.ensureSingleton('counter', 'c')),
    );
    expect(new Set(results.map((x) => x.actor)).size).toBe(1);
    expect(results[0]?.actor).toBe(r.get('c'));
    expect(results.filter((x) => x.created)).toHaveLength(0);
    expect(log.filter((l) => l.startsWith('activated'))).toEqual(['activated:c']);
    await r.send('c', { type: 'INC' });
    expect((await waiting).context).toMatchObject({ count: 1 });
  });

  it('a pending delayed event reactivates its instance when it falls due', async () => {
    const log = await idleRegistry(10_000);
    await r.spawnSingleton('approval', 'po'); // expires after a day
    r.clock.increment(30_000);
    await settle();
    expect(log).toEqual(['passivated:po']);
    r.clock.increment(86_400_000 - 30_000 - 1);
    await settle();
    expect(log).toEqual(['passivated:po']);
    r.clock.increment(1);
    await settle();
    expect(log).toEqual(['passivated:po', 'activated:po']);
    expect(await r.getStatus('po')).toMatchObject({ status: 'done', value: 'expired' });
  });

  it('an actor with someone waiting on it is not passivated', async () => {
    const log = await idleRegistry();
    await r.spawnSingleton('counter', 'c');
    const done = r.waitFor('c', 'done');
    r.clock.increment(300_000);
    await settle();
    expect(log).toEqual([]);
    await r.send('c', { type: 'FINISH' });
    expect((await done).status).toBe('done');
  });

  it('stop and purge work on passivated instances', async () => {
    await idleRegistry();
    await r.spawnSingleton('counter', 'a');
    await r.spawnSingleton('counter', 'b');
    r.clock.increment(120_000);
    await settle();
    expect(await r.stop('a', 'bye')).toMatchObject({ status: 'stopped', stopReason: 'bye' });
    await r.purge('b', { force: true });
    expect(await r.getStatus('b')).toBeUndefined();
    expect(r.store.peek('b')).toBeUndefined();
  });

  it('a restart with passivation on hosts only what is due; the rest activates on demand', async () => {
    await idleRegistry();
    await r.spawnSingleton('approval', 'waiting-a-day');
    await r.spawnSingleton('reminder', 'due-soon'); // after 1000
    await r.spawnSingleton('counter', 'no-timers');
    await r.close();
    r.clock.increment(5000); // 'due-soon' falls due while down
    r = await createTestRegistry({
      machines: all,
      clock: r.clock,
      store: r.store,
      idleTimeoutMs: 60_000,
    });
    const activated: string[] = [];
    r.on('activated', ({ id }) => activated.push(id));
    expect(r.get('due-soon')?.getSnapshot().value).toBe('reminded');
    expect(r.get('waiting-a-day')).toBeUndefined();
    expect(r.get('no-timers')).toBeUndefined();
    expect(await r.getStatus('waiting-a-day')).toMatchObject({
      status: 'running',
      value: 'pending',
    });
    await r.send('no-timers', { type: 'INC' });
    expect(activated).toEqual(['no-timers']);
    r.clock.increment(86_400_000);
    await settle();
    expect(activated).toEqual(['no-timers', 'waiting-a-day']);
    expect(await r.getStatus('waiting-a-day')).toMatchObject({ status: 'done', value: 'expired' });
  });

  it('rejects a bad idleTimeoutMs', () => {
    expect(() => createRegistry({ machines, idleTimeoutMs: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('if the store fails while passivating, the state stays in memory and nothing is lost', async () => {
    let failing = false;
    class FlakyStore extends MemoryStore {
      override async write(id: string, text: string) {
        if (failing) throw Object.assign(new Error('EIO'), { code: 'EIO' });
        return super.write(id, text);
      }
    }
    r = await createTestRegistry({ machines: all, idleTimeoutMs: 1000, store: new FlakyStore() });
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    const a = await r.spawnSingleton('counter', 'c');
    await r.flush();
    failing = true;
    a.send({ type: 'INC' });
    r.clock.increment(5000);
    await settle();
    await settle();
    expect(errors.map((e) => e.code)).toContain('PERSIST_FAILED');
    await r.send('c', { type: 'INC' });
    expect(r.get('c')?.getSnapshot().context.count).toBe(2);
    failing = false;
    await r.flush();
    expect(JSON.parse(r.store.peek('c') ?? '{}').snapshot.context.count).toBe(2);
  });
});
