import { describe, expect, it } from 'vitest';
import type { Store, StoredEntry } from '../src/index.js';

async function all(store: Store): Promise<StoredEntry[]> {
  const out: StoredEntry[] = [];
  for await (const e of store.load()) out.push(e);
  return out;
}

/**
 * The one contract every store must meet. `make` returns a fresh store and a
 * function that makes a second store over the same storage (as a second process would).
 */
export function storeContract(
  name: string,
  make: () => Promise<{ store: Store; again: () => Store }>,
) {
  describe(`${name}: store contract`, () => {
    it('writes, overwrites, loads and removes by ID', async () => {
      const { store, again } = await make();
      await store.open();
      await store.write('a', '{"v":1}');
      await store.write('b/../c', '{"v":2}');
      await store.write('a', '{"v":3}');
      await store.remove('missing'); // removing what is not there is fine
      await store.close();
      const second = again();
      await second.open();
      const entries = await all(second);
      expect(entries.map((e) => e.text).sort()).toEqual(['{"v":2}', '{"v":3}']);
      expect(await second.read('a')).toBe('{"v":3}');
      expect(await second.read('b/../c')).toBe('{"v":2}');
      expect(await second.read('missing')).toBeUndefined();
      await second.remove('a');
      expect((await all(second)).map((e) => e.text)).toEqual(['{"v":2}']);
      expect(await second.read('a')).toBeUndefined();
      await second.close();
    });

    it('one owner at a time: a second open fails with STORE_LOCKED until the first closes', async () => {
      const { store, again } = await make();
      await store.open();
      const second = again();
      await expect(second.open()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      await store.close();
      await second.open();
      await second.close();
    });

    it('quarantine moves an entry aside so load no longer yields it', async () => {
      const { store } = await make();
      await store.open();
      await store.write('x', '{"bad":true}');
      await store.write('y', '{"ok":true}');
      const x = (await all(store)).find((e) => e.text === '{"bad":true}');
      await store.quarantine(x?.key ?? '', 'test');
      expect((await all(store)).map((e) => e.text)).toEqual(['{"ok":true}']);
      await store.close();
    });

    it('refuses writes when not open with STORE_CLOSED', async () => {
      const { store } = await make();
      await expect(store.write('a', '{}')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    });

    it('keeps IDs that differ only in case or Unicode normalisation apart', async () => {
      const { store } = await make();
      await store.open();
      const ids = [
        'Job',
        'job',
        'JOB',
        'caf\u00e9',
        'cafe\u0301',
        '..',
        '.',
        'CON',
        'a/b',
        'a\\b',
        'x'.repeat(256),
        '🙂'.repeat(128),
      ];
      for (const [i, id] of ids.entries()) await store.write(id, JSON.stringify({ i }));
      expect((await all(store)).length).toBe(ids.length);
      await store.close();
    });
  });
}
