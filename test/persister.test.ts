import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { RegistryError } from '../src/errors.js';
import { Instance } from '../src/instance.js';
import { toInstanceId } from '../src/instance-id.js';
import { resolveMachines } from '../src/machines.js';
import { Persister } from '../src/persister.js';
import { MemoryStore } from '../src/stores/memory-store.js';
import { heap } from './support/heap.js';

function setup() {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  class GatedStore extends MemoryStore {
    override async write(id: string, text: string) {
      await gate;
      return super.write(id, text);
    }
  }
  const store = new GatedStore();
  const persister = new Persister({ store, maxRecordBytes: 1 << 20 });
  const def = resolveMachines({ m: createMachine({}) }).get('m');
  const instance = new Instance(toInstanceId('i'), def as NonNullable<typeof def>, 0);
  instance.writeLife({
    frozen: { snapshot: { status: 'active', value: {}, context: {} }, timers: [] },
  });
  return { store, persister, instance, release };
}

describe('Persister', () => {
  it('a change made while an earlier write of the same instance is under way is written too', async () => {
    const { store, persister, instance, release } = setup();
    await store.open();
    persister.markDirty(instance);
    // A strict send's wait takes the instance off the queue and starts its write...
    const first = persister.durable(instance);
    // ...and the next sends change it again while that write waits on the store.
    persister.markDirty(instance);
    persister.markDirty(instance);
    release();
    await first;
    await persister.flush();
    expect(instance.durable).toBe(instance.version);
    expect(persister.backlog).toBe(0);
    // Written and settled: its next change is queued and written afresh.
    persister.markDirty(instance);
    expect(persister.backlog).toBe(1);
    await persister.flush();
    expect(instance.durable).toBe(instance.version);
  });

  it('flush() waits for every write, and names the failed ones in the order of the backlog, whatever order they fail in', async () => {
    const answers = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
    class HeldStore extends MemoryStore {
      override write(id: string, text: string) {
        return new Promise<void>((resolve, reject) => answers.set(id, { resolve, reject })).then(
          () => super.write(id, text),
        );
      }
    }
    const store = new HeldStore();
    await store.open();
    const persister = new Persister({ store, maxRecordBytes: 1 << 20, retryDelayMs: 60_000 });
    const def = resolveMachines({ m: createMachine({}) }).get('m') as NonNullable<
      ReturnType<ReturnType<typeof resolveMachines>['get']>
    >;
    const ids = ['a', 'b', 'c', 'd'];
    for (const [i, id] of ids.entries()) {
      const instance = new Instance(toInstanceId(id), def, i);
      instance.writeLife({
        frozen: { snapshot: { status: 'active', value: {}, context: {} }, timers: [] },
      });
      persister.markDirty(instance);
    }
    let settled = false;
    const flushed = persister.flush().finally(() => {
      settled = true;
    });
    flushed.catch(() => {});
    expect([...answers.keys()]).toEqual(ids); // every write started by the flush
    answers.get('d')?.reject(new Error('disk d'));
    answers.get('b')?.resolve();
    answers.get('c')?.reject(new Error('disk c'));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false); // 'a' is still being written
    answers.get('a')?.reject(new Error('disk a'));
    const error = await flushed.then(
      () => undefined,
      (e: RegistryError) => e,
    );
    expect(error?.code).toBe('PERSIST_FAILED');
    expect(error?.details).toMatchObject({ ids: ['a', 'c', 'd'] });
    expect(persister.backlog).toBe(3);
    persister.dispose();
  });

  it('an instance lost to another owner rejects whoever waits for its unwritten changes', async () => {
    const { store, persister, instance, release } = setup();
    await store.open();
    persister.markDirty(instance);
    const waiting = persister.durable(instance);
    const lost = new RegistryError('FENCED', 'taken over');
    persister.retire(instance, lost);
    release();
    await expect(waiting).rejects.toBe(lost);
  });

  it('a purged or replaced instance resolves its waiters: nothing more is to be written', async () => {
    const { store, persister, instance, release } = setup();
    await store.open();
    persister.markDirty(instance);
    const waiting = persister.durable(instance);
    persister.retire(instance);
    release();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('retiring instances leaves nothing behind once they are collected (no table sized by a past burst)', () => {
    const { persister, instance } = setup();
    const retire = (n: number) => {
      // All alive at once, as a wave of purges is before the next collection.
      const burst = Array.from(
        { length: n },
        (_, i) => new Instance(toInstanceId(`r${i}`), instance.def, 0),
      );
      for (const each of burst) persister.retire(each);
    };
    retire(1_000); // warms up the code paths, so what follows measures only what stays
    const before = heap();
    retire(200_000);
    // A WeakSet of retired instances kept a hash table for every entry (~2 MB per
    // 60,000) after they were all collected: the soak benchmark's heap grew by it.
    // 200,000 makes that ~6 MB, far above the heap's own noise (~0.3 MB here).
    expect(heap() - before).toBeLessThan(1_000_000);
  });
});

describe('Persister record size limit', () => {
  // The limit is in UTF-8 bytes, which can be up to three per UTF-16 unit:
  // a record short in characters but over the limit in bytes is still refused.
  const sized = (context: object, limit: number) => {
    const persister = new Persister({ store: new MemoryStore(), maxRecordBytes: limit });
    const def = resolveMachines({ m: createMachine({}) }).get('m');
    const instance = new Instance(toInstanceId('s'), def as NonNullable<typeof def>, 0);
    instance.writeLife({
      frozen: { snapshot: { status: 'active', value: {}, context }, timers: [] },
    });
    return () => persister.encode(instance);
  };

  it('counts bytes, not characters, right at the limit', () => {
    const text = sized({ s: '' }, 1 << 20)().text;
    const base = Buffer.byteLength(text);
    // 300 euro signs: 300 characters, 900 bytes.
    const euros = { s: '€'.repeat(300) };
    const bytes = base + 900;
    expect(sized(euros, bytes)().text.length).toBe(base + 300);
    expect(sized(euros, bytes - 1)).toThrow(
      expect.objectContaining({
        code: 'SNAPSHOT_TOO_LARGE',
        details: expect.objectContaining({ bytes }),
      }),
    );
    const ascii = { s: 'x'.repeat(300) };
    expect(sized(ascii, base + 300)().text.length).toBe(base + 300);
    expect(sized(ascii, base + 299)).toThrow(
      expect.objectContaining({ code: 'SNAPSHOT_TOO_LARGE' }),
    );
  });
});
