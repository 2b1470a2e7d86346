import { isClusterStore } from './stores/cluster-store.js';
import type { RecordMeta, Store, StoredEntry } from './stores/store.js';

/**
 * The few assertions the contract makes, as vitest's and Jest's `expect` provide them.
 *
 * @example
 * ```ts
 * import { expect } from 'vitest';
 * const api: ContractExpect = expect;
 * ```
 */
export type ContractExpect = (actual: unknown) => {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toBeUndefined(): void;
  toMatchObject(expected: object): void;
  rejects: { toMatchObject(expected: object): PromiseLike<unknown> };
};

/**
 * The test runner the contract registers its tests with: pass vitest's (or
 * Jest's, or node:test's with an `expect`) `describe`, `it` and `expect`. Taken
 * as parameters so that the package needs no test runner of its own.
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * const runner: ContractRunner = { describe, it, expect };
 * ```
 */
export interface ContractRunner {
  describe: (name: string, body: () => void) => unknown;
  it: (name: string, body: () => Promise<void>) => unknown;
  expect: ContractExpect;
}

/**
 * What `make` returns: a fresh store, and a way to open a second one over the same storage.
 *
 * @example
 * ```ts
 * const make = async (): Promise<ContractStores> => ({ store: new MyStore(url), again: () => new MyStore(url) });
 * storeContract('MyStore', make, { describe, it, expect });
 * ```
 */
export interface ContractStores {
  store: Store;
  /** Another store over the same storage, as a second process would open it. */
  again: () => Store;
}

/** The metadata the registry writes with a record (a store may index by it, and never parses the text). */
const meta = (status = 'running'): RecordMeta => ({
  type: 'contract',
  status,
  machineVersion: 1,
  createdAt: 1,
  updatedAt: 2,
});

// Stores keep JSON, not necessarily the same text (PostgreSQL's jsonb re-spaces it).
const json = (text: string | undefined) => JSON.parse(text ?? 'null');

/** Every entry `load()` yields; each must be a readable record (the contract writes only those). */
async function all(store: Store): Promise<Array<Extract<StoredEntry, { kind: 'record' }>>> {
  const out: Array<Extract<StoredEntry, { kind: 'record' }>> = [];
  for await (const e of store.load()) {
    if (e.kind !== 'record') throw new Error(`load() yielded '${e.key}' as unreadable: ${e.error}`);
    out.push(e);
  }
  return out;
}

/**
 * The one contract every store must meet, for third-party stores to run in
 * their own test suites (`xstate-registry/store-contract`). `make` returns a
 * fresh store and a function that makes a second store over the same storage
 * (as a second process would).
 *
 * @example
 * ```ts
 * import { describe, expect, it } from 'vitest';
 * import { storeContract } from 'xstate-registry/store-contract';
 *
 * storeContract('RedisStore', async () => {
 *   const prefix = `test-${Date.now()}`;
 *   return { store: new RedisStore({ prefix }), again: () => new RedisStore({ prefix }) };
 * }, { describe, it, expect });
 * ```
 */
export function storeContract(
  name: string,
  make: () => Promise<ContractStores>,
  runner: ContractRunner,
): void {
  const { describe, it, expect } = runner;
  /** Cluster stores write only what this process has claimed: claim first, as the registry does. */
  async function own(store: Store, ...ids: string[]): Promise<void> {
    if (!isClusterStore(store)) return;
    for (const id of ids) expect((await store.claim(id)).owned).toBe(true);
  }
  describe(`${name}: store contract`, () => {
    it('writes, overwrites, loads and removes by ID', async () => {
      const { store, again } = await make();
      await store.open();
      await own(store, 'a', 'b/../c', 'missing');
      await store.write('a', '{"v":1}', meta());
      await store.write('b/../c', '{"v":2}', meta());
      await store.write('a', '{"v":3}', meta());
      await store.remove('missing'); // removing what is not there is fine
      await store.close();
      const second = again();
      await second.open();
      await own(second, 'a');
      const entries = await all(second);
      expect(entries.map((e) => json(e.text)).sort((x, y) => x.v - y.v)).toEqual([
        { v: 2 },
        { v: 3 },
      ]);
      expect(json(await second.read('a'))).toEqual({ v: 3 });
      expect(json(await second.read('b/../c'))).toEqual({ v: 2 });
      expect(await second.read('missing')).toBeUndefined();
      await second.remove('a');
      expect((await all(second)).map((e) => json(e.text))).toEqual([{ v: 2 }]);
      expect(await second.read('a')).toBeUndefined();
      await second.close();
    });

    it('one owner at a time: a second open fails with STORE_LOCKED until the first closes (or, shared stores: one owner per ID)', async () => {
      const { store, again } = await make();
      if (isClusterStore(store)) {
        const second = again() as typeof store;
        await store.open();
        await second.open();
        expect((await store.claim('x')).owned).toBe(true);
        expect(await second.claim('x')).toMatchObject({ owned: false, owner: store.ownerId });
        await expect(second.write('x', '{"v":1}', meta())).rejects.toMatchObject({
          code: 'FENCED',
        });
        await store.close();
        expect((await second.claim('x')).owned).toBe(true);
        await second.close();
        return;
      }
      await store.open();
      const second = again();
      await expect(second.open()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      await store.close();
      await second.open();
      await second.close();
    });

    it('the same store object opened again while open fails with STORE_LOCKED, and keeps working', async () => {
      // Two registries over one store object: for a shared store they would
      // share its owner ID and so its leases, and both host the same instances.
      const { store } = await make();
      const opens = await Promise.allSettled([store.open(), store.open()]);
      expect(opens.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = opens.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ code: 'STORE_LOCKED' });
      await expect(store.open()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      await own(store, 'x');
      await store.write('x', '{"v":1}', meta());
      expect(json(await store.read('x'))).toEqual({ v: 1 });
      await store.close();
      await store.open();
      await own(store, 'x');
      expect(json(await store.read('x'))).toEqual({ v: 1 });
      await store.close();
    });

    it('quarantine moves an entry aside so load no longer yields it', async () => {
      const { store } = await make();
      await store.open();
      await own(store, 'x', 'y');
      await store.write('x', '{"bad":true}', meta());
      await store.write('y', '{"ok":true}', meta());
      const x = (await all(store)).find((e) => json(e.text).bad === true);
      if (!x) throw new Error('load() did not yield the entry written');
      await store.quarantine(x.key, 'test');
      expect((await all(store)).map((e) => json(e.text))).toEqual([{ ok: true }]);
      await store.close();
    });

    it('lists set-aside entries and restores one, where a store can (optional capability)', async () => {
      const { store } = await make();
      if (!store.listSetAside || !store.restoreSetAside) return;
      await store.open();
      await own(store, 'q1', 'q2');
      await store.write('q1', '{"id":"q1","bad":1}', meta());
      await store.write('q2', '{"id":"q2","ok":true}', meta());
      const q1 = (await all(store)).find((e) => json(e.text).bad === 1);
      if (!q1) throw new Error('load() did not yield the entry written');
      await store.quarantine(q1.key, 'CORRUPT_RECORD: test');
      const [aside, ...rest] = (await store.listSetAside()).items;
      expect(rest).toEqual([]);
      expect(aside).toMatchObject({ id: 'q1', reason: 'CORRUPT_RECORD: test' });
      expect(typeof aside?.at).toBe('number');
      // Never over a record its ID has again (a cluster store claims the ID anew).
      await own(store, 'q1');
      await store.write('q1', '{"id":"q1","again":true}', meta());
      await expect(store.restoreSetAside(aside?.key ?? '')).rejects.toMatchObject({
        code: 'INSTANCE_EXISTS',
      });
      expect(json(await store.read('q1'))).toEqual({ id: 'q1', again: true });
      await store.remove('q1');
      await store.restoreSetAside(aside?.key ?? '');
      expect(json(await store.read('q1'))).toEqual({ id: 'q1', bad: 1 });
      expect(await store.listSetAside()).toEqual({ items: [], cursor: null });
      await expect(store.restoreSetAside('no-such-key')).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await store.close();
    });

    it('lists set-aside entries in bounded pages: a limit, a cursor, newest first (optional capability)', async () => {
      const { store } = await make();
      if (!store.listSetAside) return;
      await store.open();
      const ids = Array.from({ length: 12 }, (_, i) => `p${i}`);
      await own(store, ...ids);
      for (const id of ids) await store.write(id, JSON.stringify({ id, page: true }), meta());
      for (const e of await all(store)) await store.quarantine(e.key, `CORRUPT_RECORD: ${e.key}`);
      const seen: Array<{ id?: string; at: number }> = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.listSetAside({ limit: 5, ...(cursor !== null ? { cursor } : {}) });
        sizes.push(page.items.length);
        seen.push(...page.items);
        cursor = page.cursor;
      } while (cursor !== null && sizes.length < 10);
      expect(sizes).toEqual([5, 5, 2]);
      expect(seen.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(seen.every((r, i) => i === 0 || (seen[i - 1]?.at ?? 0) >= r.at)).toBe(true);
      // No page is over 10,000, nor under 1; a cursor no listing gave is refused.
      for (const limit of [0, -1, 1.5, 10_001, Number.NaN])
        await expect(store.listSetAside({ limit })).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      await expect(store.listSetAside({ cursor: 'not-a-cursor' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await store.close();
    });

    it('load() yields each record under keyOf(id), where a store declares it', async () => {
      const { store } = await make();
      if (!store.keyOf) return; // cluster stores load nothing up front
      await store.open();
      const ids = ['a', 'B/../c', 'café'];
      for (const id of ids) await store.write(id, JSON.stringify({ id }), meta());
      const keys = (await all(store)).map((e) => [e.key, json(e.text).id]);
      expect(keys.sort()).toEqual(ids.map((id) => [store.keyOf?.(id), id]).sort());
      await store.close();
    });

    it('indexes what the metadata written with a record says, without parsing the record (cluster stores)', async () => {
      const { store } = await make();
      if (!isClusterStore(store)) return; // only cluster stores serve queries
      await store.open();
      await own(store, 'p', 'q');
      // The text says nothing a store could index: only the metadata does.
      await store.write('p', '{"v":1}', meta('done'));
      await store.write('q', '{"v":2}', meta('running'));
      const page = await store.query({ status: ['done'], limit: 10 });
      expect(page.texts.map((t) => json(t))).toEqual([{ v: 1 }]);
      await store.close();
    });

    it('listener registrations return their unsubscribe', async () => {
      const { store } = await make();
      const offs = [
        store.onDamaged?.(() => {}),
        ...(isClusterStore(store) ? [store.onLeaseLost(() => {}), store.onError?.(() => {})] : []),
      ].filter((off) => off !== undefined);
      for (const off of offs) {
        expect(typeof off).toBe('function');
        off();
        off(); // twice is harmless
      }
    });

    it('a store closed by its owner can be opened again; closing it twice is harmless', async () => {
      const { store, again } = await make();
      await store.open();
      await store.close();
      await store.close();
      const second = again();
      await second.open();
      await second.close();
    });

    it('refuses writes when not open with STORE_CLOSED', async () => {
      const { store } = await make();
      await expect(store.write('a', '{}', meta())).rejects.toMatchObject({ code: 'STORE_CLOSED' });
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
      await own(store, ...ids);
      for (const [i, id] of ids.entries()) await store.write(id, JSON.stringify({ i }), meta());
      expect((await all(store)).length).toBe(ids.length);
      await store.close();
    });
  });
}
