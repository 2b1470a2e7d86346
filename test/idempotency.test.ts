import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpHandler, toNodeListener } from '../src/http/index.js';
import { createRegistry, MemoryStore, type RegistryError } from '../src/index.js';
import { createTestRegistry, parseRecord, type TestRegistry } from '../src/testing/index.js';
import { entries, machines } from './fixtures.js';
import { ScheduledStore } from './support/scheduled-store.js';

let r: TestRegistry<typeof machines> | undefined;
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
  entries.clear();
});

const count = (reg: TestRegistry<typeof machines>, id: string) =>
  reg.getStatus(id).then((s) => (s?.context as { count: number } | undefined)?.count);

/** A memory store whose writes fail while `failing` is set (fault injection). */
class FlakyStore extends MemoryStore {
  failing = false;
  override async write(id: string, text: string) {
    if (this.failing) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    return super.write(id, text);
  }
}

describe('idempotent events', () => {
  it('applies an event at most once per key; other keys and unkeyed sends apply', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'k1' });
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'k1' });
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'k2' });
    await r.send('c', { type: 'INC' });
    await r.send('c', { type: 'INC' });
    expect(await count(r, 'c')).toBe(4);
  });

  it('a repeat after the event finished the instance resolves instead of INSTANCE_NOT_RUNNING', async () => {
    r = await createTestRegistry({ machines, durability: 'strict' });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'FINISH' }, { idempotencyKey: 'finish-1' });
    await expect(r.send('c', { type: 'FINISH' }, { idempotencyKey: 'finish-1' })).resolves.toBe(
      undefined,
    );
    await expect(
      r.send('c', { type: 'FINISH' }, { idempotencyKey: 'finish-2' }),
    ).rejects.toMatchObject({ code: 'INSTANCE_NOT_RUNNING' });
    r = await r.restart();
    await expect(r.send('c', { type: 'FINISH' }, { idempotencyKey: 'finish-1' })).resolves.toBe(
      undefined,
    );
  });

  it('keys are remembered with the instance across restarts and passivation', async () => {
    r = await createTestRegistry({ machines, idleTimeoutMs: 1000 });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'a' });
    // An event that changes nothing is remembered too: its retry must not land later.
    await r.send('c', { type: 'NOTHING' } as never, { idempotencyKey: 'b' });
    await r.flush();
    expect(
      JSON.parse(r.store.peek('c') ?? '{}').idempotencyKeys.map((k: [string]) => k[0]),
    ).toEqual(['a', 'b']);
    r = await r.restart();
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'a' });
    expect(await count(r, 'c')).toBe(1);
    r.clock.increment(5000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.get('c')).toBeUndefined(); // passivated
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'a' });
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'c' });
    expect(await count(r, 'c')).toBe(2);
  });

  it('retention is bounded per instance by count and by age, on the registry clock', async () => {
    r = await createTestRegistry({
      machines,
      idempotency: { maxKeys: 3, retentionMs: 60_000 },
    });
    await r.spawnSingleton('counter', 'c');
    for (const k of ['k1', 'k2', 'k3', 'k4'])
      await r.send('c', { type: 'INC' }, { idempotencyKey: k });
    expect(await count(r, 'c')).toBe(4);
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'k4' }); // remembered
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'k1' }); // evicted by count: applies
    expect(await count(r, 'c')).toBe(5);
    r.clock.increment(59_999);
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'k1' }); // still remembered
    expect(await count(r, 'c')).toBe(5);
    r.clock.increment(1);
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'k1' }); // 60 s old: forgotten
    expect(await count(r, 'c')).toBe(6);
    await r.flush();
    expect(JSON.parse(r.store.peek('c') ?? '{}').idempotencyKeys.length).toBeLessThanOrEqual(3);
  });

  it('refuses a bad key or bad retention options with INVALID_ARGUMENT', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    for (const key of ['', 'x'.repeat(257), 'a\nb', 42]) {
      await expect(
        r.send('c', { type: 'INC' }, { idempotencyKey: key as string }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(await count(r, 'c')).toBe(0);
    await expect(
      createTestRegistry({ machines, idempotency: { maxKeys: 0 } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a record with malformed idempotencyKeys is refused at load as CORRUPT_RECORD', async () => {
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'k' });
    await r.flush();
    const record = JSON.parse(r.store.peek('c') ?? '{}');
    expect(() => parseRecord(JSON.stringify(record))).not.toThrow();
    for (const bad of ['k', [['k']], [['k', 'yesterday']], [[1, 2]]]) {
      expect(() => parseRecord(JSON.stringify({ ...record, idempotencyKeys: bad }))).toThrow(
        expect.objectContaining({ code: 'CORRUPT_RECORD' }),
      );
    }
  });

  it('a strict send rejected with PERSIST_FAILED is retried with its key without applying twice', async () => {
    const store = new FlakyStore();
    r = await createTestRegistry({ machines, store, durability: 'strict' });
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    await r.spawnSingleton('counter', 'c');
    store.failing = true;
    await expect(r.send('c', { type: 'INC' }, { idempotencyKey: 'pay-1' })).rejects.toMatchObject({
      code: 'PERSIST_FAILED',
    });
    // The client retries the 503 while the store still fails: rejected again, not applied again.
    await expect(r.send('c', { type: 'INC' }, { idempotencyKey: 'pay-1' })).rejects.toMatchObject({
      code: 'PERSIST_FAILED',
    });
    expect(r.get('c')?.getSnapshot().context.count).toBe(1);
    store.failing = false;
    // The store is back: the retry resolves once the one application is durable.
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'pay-1' });
    expect(JSON.parse(store.peek('c') ?? '{}').snapshot.context.count).toBe(1);
    r = await r.restart();
    await r.send('c', { type: 'INC' }, { idempotencyKey: 'pay-1' });
    expect(await count(r, 'c')).toBe(1);
    expect(errors.some((e) => e.code === 'PERSIST_FAILED')).toBe(true);
  });

  it('over HTTP: Idempotency-Key makes a retried POST /events apply once; both answer 202', async () => {
    r = await createTestRegistry({ machines, durability: 'strict' });
    const server = createServer(toNodeListener(createHttpHandler(r)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const send = (key?: string) =>
        fetch(`${base}/instances/c/events`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(key === undefined ? {} : { 'idempotency-key': key }),
          },
          body: JSON.stringify({ type: 'INC' }),
        });
      await r.spawnSingleton('counter', 'c');
      const answers = await Promise.all([send('req-1'), send('req-1'), send('req-1')]);
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
      expect((await send('req-2')).status).toBe(202);
      expect(await count(r, 'c')).toBe(2);
      const bad = await send('x'.repeat(300));
      expect(bad.status).toBe(400);
      expect((await bad.json()).error.code).toBe('INVALID_ARGUMENT');
      expect(await count(r, 'c')).toBe(2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('idempotent events under random interleavings', () => {
  it('concurrent sends with repeated keys apply each key exactly once, also after a restart', async () => {
    const fc = (await import('fast-check')).default;
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('send' as const),
        key: fc.integer({ min: 0, max: 5 }),
      }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 2500 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(op, { minLength: 2, maxLength: 30 }),
        fc.constantFrom('relaxed' as const, 'strict' as const),
        async (s, ops, durability) => {
          const store = new ScheduledStore(s);
          const options = { machines, idleTimeoutMs: 1000, durability, store };
          const registry = await createTestRegistry(options);
          const created = registry.spawnSingleton('counter', 'c');
          await s.waitFor(created);
          await created;
          const keys = new Set<string>();
          const calls = ops.map((o, n) =>
            s.schedule(Promise.resolve(), `${o.kind} #${n}`).then(async () => {
              if (o.kind === 'tick') return registry.clock.increment(o.ms);
              await registry.send('c', { type: 'INC' }, { idempotencyKey: `k${o.key}` });
              keys.add(`k${o.key}`);
            }),
          );
          const done = Promise.all(calls);
          await s.waitFor(done);
          const status = registry.getStatus('c');
          await s.waitFor(status);
          expect((await status)?.context).toMatchObject({ count: keys.size });
          // Restart, then every key again: nothing more is applied.
          const closing = registry.close();
          await s.waitFor(closing);
          const again = createTestRegistry({ ...options, clock: registry.clock });
          await s.waitFor(again);
          const next = await again;
          const resent = Promise.all(
            [...keys].map((k) => next.send('c', { type: 'INC' }, { idempotencyKey: k })),
          );
          await s.waitFor(resent);
          const after = next.getStatus('c');
          await s.waitFor(after);
          expect((await after)?.context).toMatchObject({ count: keys.size });
          const closed = next.close();
          await s.waitFor(closed);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('idempotency bounds against the record size', () => {
  // The remembered keys live in the record: a retention that can outgrow
  // maxRecordBytes would make every later write of the instance fail
  // (SNAPSHOT_TOO_LARGE), unkeyed sends and close() included.
  it('refuses, at construction, a retention whose keys could fill half the record limit', () => {
    expect(() =>
      createRegistry({ machines, maxRecordBytes: 16_000, idempotency: { maxKeys: 100 } }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('keeps an instance writable with the largest keys a valid retention allows', async () => {
    const r = createRegistry({
      machines,
      maxRecordBytes: 16_000,
      durability: 'strict',
      idempotency: { maxKeys: 9 },
    });
    await r.start();
    await r.spawnSingleton('counter', 'c');
    // 256 three-byte characters: the longest key, in its longest UTF-8 form.
    for (let i = 0; i < 30; i++) {
      const key = `${String(i).padStart(3, '0')}${'€'.repeat(253)}`;
      await r.send('c', { type: 'INC' }, { idempotencyKey: key });
    }
    await r.send('c', { type: 'INC' });
    await r.close();
  });
});
