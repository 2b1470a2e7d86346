import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { RegistryError } from '../src/errors.js';
import { Instance } from '../src/instance.js';
import { resolveMachines } from '../src/machines.js';
import { Persister } from '../src/persister.js';
import { MemoryStore } from '../src/stores/memory-store.js';

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
  const instance = new Instance('i', def as NonNullable<typeof def>, 0);
  instance.writeLife({
    frozen: { snapshot: { status: 'active', value: {}, context: {} }, timers: [] },
  });
  return { store, persister, instance, release };
}

describe('Persister', () => {
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
});
