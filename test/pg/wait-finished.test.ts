import { afterEach, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { createRegistry, type Registry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';
import { freshTable, noPg, server, sql, until } from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

/**
 * A cluster store without an inbox, as a third party may write one: the
 * PostgreSQL store with its inbox out of sight.
 */
function withoutInbox(store: PostgresStore): PostgresStore {
  return new Proxy(store, {
    get(target, key) {
      if (key === 'inbox') return undefined;
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Fault injection: the store's writes of `id` wait for `held.answer` while it
 * is set, and fail with what it is rejected with.
 */
function holdingWrites(store: PostgresStore, id: string, held: { answer?: Promise<void> }) {
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key !== 'write') return typeof value === 'function' ? value.bind(target) : value;
      return async (writeId: string, ...rest: unknown[]) => {
        if (held.answer && writeId === id) await held.answer;
        return (value as (...a: unknown[]) => Promise<void>).call(target, writeId, ...rest);
      };
    },
  });
}

/**
 * Fault injection: the store's reads of `id` are counted in `held.reads`, and
 * wait for `held.answer` while it is set.
 */
function holdingReads(
  store: PostgresStore,
  id: string,
  held: { answer?: Promise<void>; reads: number },
) {
  return new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key !== 'read') return typeof value === 'function' ? value.bind(target) : value;
      return async (readId: string) => {
        if (readId === id) held.reads++;
        if (held.answer && readId === id) await held.answer;
        return (value as (id: string) => Promise<unknown>).call(target, readId);
      };
    },
  });
}

async function registryOn(
  table: string,
  inbox = true,
  wrap: (store: PostgresStore) => PostgresStore = (store) => store,
) {
  const pgStore = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
  const store = wrap(inbox ? pgStore : withoutInbox(pgStore));
  const registry = createRegistry({
    machines: { counter },
    store,
    takeoverIntervalMs: 60_000,
  }) as unknown as Registry;
  open.push(registry);
  await registry.start();
  return registry;
}

describe.skipIf(noPg)('waitFor on an instance that finished in another process', () => {
  // The HTTP long poll read "running", then the owner stopped it: the waiting
  // process adopts the finished record, and gives it back at once.
  for (const [name, options] of [
    ['without a timeout', {}],
    ['with a timeout', { timeoutMs: 30_000 }],
    ['with a signal', { signal: new AbortController().signal }],
  ] as const) {
    it(`resolves with its stored status, ${name}, while the lease is given back`, async () => {
      const table = freshTable();
      const a = await registryOn(table);
      const b = await registryOn(table);
      for (let i = 0; i < 20; i++) {
        const id = `job-${i}`;
        await a.spawnSingleton('counter', id);
        await a.send(id, { type: 'INC' });
        await a.stop(id, 'done here');
        await a.flush();
        await expect(b.waitFor(id, ['stopped', 'done'], options)).resolves.toMatchObject({
          status: 'stopped',
          stopReason: 'done here',
          context: { count: 1 },
        });
      }
    }, 60_000);
  }

  it('a wait its finished status does not meet watches the stored record: a replacement elsewhere wakes it', async () => {
    const table = freshTable();
    const a = await registryOn(table);
    const b = await registryOn(table);
    for (let i = 0; i < 3; i++) {
      const id = `again-${i}`;
      await a.spawnSingleton('counter', id);
      await a.stop(id, 'first run');
      await a.flush();
      const waiting = b.waitFor(id, 'running', { timeoutMs: 30_000 });
      waiting.catch(() => {});
      // b has read it (adopted and given back) and waits.
      await until(
        async () => b.stats().waiters,
        (n) => n === 1,
        'the wait to be registered',
      );
      await a.spawnSingleton('counter', id, { ifFinished: 'replace' });
      await expect(waiting).resolves.toMatchObject({ status: 'running', context: { count: 0 } });
    }
  }, 60_000);

  it('a wait on an instance this process just stopped watches the stored record too', async () => {
    const table = freshTable();
    const a = await registryOn(table);
    const b = await registryOn(table);
    await b.spawnSingleton('counter', 'mine');
    await b.stop('mine', 'first run');
    const waiting = b.waitFor('mine', 'running', { timeoutMs: 30_000 });
    waiting.catch(() => {});
    await until(
      async () => b.stats().waiters,
      (n) => n === 1,
      'the wait to be registered',
    );
    await a.spawnSingleton('counter', 'mine', { ifFinished: 'replace' });
    await expect(waiting).resolves.toMatchObject({ status: 'running' });
  }, 60_000);

  it('a wait on an instance whose final write was fenced watches the row, and does not hang', async () => {
    // Found by review: the wait was attached to the copy here, which the
    // fenced write had already taken away, so it waited for its deadline.
    const table = freshTable();
    const held: { answer?: Promise<void> } = {};
    const b = await registryOn(table, true, (store) => holdingWrites(store, 'x', held));
    b.on('error', () => {});
    await b.spawnSingleton('counter', 'x');
    await b.flush();
    let fence!: (err: unknown) => void;
    held.answer = new Promise<void>((_, reject) => {
      fence = reject;
    });
    await b.stop('x', 'first run');
    const waiting = b.waitFor('x', 'running', { timeoutMs: 20_000 });
    waiting.catch(() => {});
    fence(
      new RegistryError('FENCED', 'another process owns it now (injected)', {
        details: { id: 'x' },
      }),
    );
    held.answer = undefined;
    // The stop never landed: the row still says running, and that is the answer.
    await expect(waiting).resolves.toMatchObject({ status: 'running' });
  }, 60_000);

  it('a wait that began while the instance ran here follows it after this process stops it and another replaces it', async () => {
    // Found by review: the wait was attached to the copy here, so giving the
    // finished copy back ended it with INSTANCE_NOT_FOUND.
    const table = freshTable();
    const a = await registryOn(table);
    const b = await registryOn(table);
    await b.spawnSingleton('counter', 'y');
    const waiting = b.waitFor(
      'y',
      (s) => s.status === 'running' && (s.context as { count: number }).count === 1,
      { timeoutMs: 30_000 },
    );
    waiting.catch(() => {});
    await b.stop('y', 'first run');
    await until(
      async () =>
        (await sql<{ owner: string | null }>(`SELECT owner FROM ${table} WHERE id = 'y'`))[0],
      (row) => row?.owner === null,
      'the finished instance to be given back',
    );
    await a.spawnSingleton('counter', 'y', { ifFinished: 'replace' });
    await a.send('y', { type: 'INC' });
    await expect(waiting).resolves.toMatchObject({ status: 'running', context: { count: 1 } });
  }, 60_000);

  describe('on a cluster store without an inbox', () => {
    it('resolves with its stored status when that is what the caller waits for', async () => {
      const table = freshTable();
      const a = await registryOn(table, false);
      const b = await registryOn(table, false);
      for (let i = 0; i < 5; i++) {
        const id = `job-${i}`;
        await a.spawnSingleton('counter', id);
        await a.send(id, { type: 'INC' });
        await a.stop(id, 'done here');
        await a.flush();
        await expect(
          b.waitFor(id, ['stopped', 'done'], { timeoutMs: 30_000 }),
        ).resolves.toMatchObject({
          status: 'stopped',
          stopReason: 'done here',
          context: { count: 1 },
        });
      }
    });

    it('a wait on an instance purged here rejects INSTANCE_NOT_FOUND, not from the row about to be deleted', async () => {
      // Found by review: the wait read the row before the purge had deleted it,
      // and answered that another process ran the instance.
      const table = freshTable();
      const b = await registryOn(table, false);
      for (let i = 0; i < 5; i++) {
        const id = `p-${i}`;
        await b.spawnSingleton('counter', id);
        await b.flush();
        const waiting = b.waitFor(id, 'done', { timeoutMs: 30_000 });
        waiting.catch(() => {});
        await b.purge(id, { force: true });
        await expect(waiting).rejects.toMatchObject({ code: 'INSTANCE_NOT_FOUND' });
      }
    });

    /**
     * A wait on 'far' (stopped by another process) from a registry whose
     * read of the row is held until its close() has begun.
     */
    async function waitAcrossClose(condition: 'done' | Array<'stopped' | 'done'>) {
      const table = freshTable();
      const a = await registryOn(table, false);
      let release = () => {};
      const held: { answer?: Promise<void>; reads: number } = { reads: 0 };
      const b = await registryOn(table, false, (store) => holdingReads(store, 'far', held));
      await a.spawnSingleton('counter', 'far');
      await a.stop('far', 'done there');
      await a.flush();
      held.answer = new Promise<void>((resolve) => {
        release = resolve;
      });
      const waiting = b.waitFor('far', condition, { timeoutMs: 30_000 });
      waiting.catch(() => {});
      await until(
        async () => held.reads,
        (n) => n > 0,
        'the wait to read the row',
      );
      const closing = b.close();
      release();
      return { waiting, closing };
    }

    it('a wait whose read of the row outlasts the start of close() rejects REGISTRY_CLOSED', async () => {
      // The answer came from the row (INSTANCE_NOT_RUNNING) or from the
      // closed store (STORE_CLOSED), not from the registry's close.
      const { waiting, closing } = await waitAcrossClose('done');
      await expect(waiting).rejects.toMatchObject({ code: 'REGISTRY_CLOSED' });
      await closing;
    });

    it('a wait the row meets resolves with it, even when close() began during the read', async () => {
      // Found by review: the close was checked before the row's answer.
      const { waiting, closing } = await waitAcrossClose(['stopped', 'done']);
      await expect(waiting).resolves.toMatchObject({ status: 'stopped', stopReason: 'done there' });
      await closing;
    });

    it('fails at once, naming the status, for a wait that a finished instance elsewhere can never meet', async () => {
      const table = freshTable();
      const a = await registryOn(table, false);
      const b = await registryOn(table, false);
      await a.spawnSingleton('counter', 'over');
      await a.stop('over', 'done here');
      await a.flush();
      await expect(b.waitFor('over', 'running')).rejects.toMatchObject({
        code: 'INSTANCE_NOT_RUNNING',
        details: { id: 'over', status: 'stopped' },
      });
      await expect(b.waitFor('nobody', 'running')).rejects.toMatchObject({
        code: 'INSTANCE_NOT_FOUND',
      });
    });
  });
});
