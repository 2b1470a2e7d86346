import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createRegistry, MemoryStore, type Registry } from '../../src/index.js';
import { codeOf, raw, serve } from './support.js';

/** Fault injection: a memory store whose writes fail while `failing` is set. */
class FlakyStore extends MemoryStore {
  failing = false;
  override async write(id: string, text: string): Promise<void> {
    if (this.failing) throw new Error('disk full');
    return super.write(id, text);
  }
}

describe('GET /healthz and /readyz', () => {
  it('healthz is 200 while the process is up; readyz is 503 NOT_READY while the store fails, and before start and after close', async () => {
    const store = new FlakyStore();
    const registry = createRegistry({ machines: demoMachines, store });
    const srv = await serve(registry);
    try {
      const notStarted = await raw(srv.port, 'GET', '/readyz');
      expect(notStarted.status).toBe(503);
      expect(codeOf(notStarted)).toBe('NOT_READY');
      await registry.start();
      expect((await raw(srv.port, 'GET', '/healthz')).status).toBe(200);
      expect(JSON.parse((await raw(srv.port, 'GET', '/readyz')).body)).toEqual({ ready: true });

      store.failing = true;
      registry.on('error', () => {}); // the failed writes are expected here
      await registry.spawnSingleton('approval', 'unwritten');
      await vi.waitFor(async () =>
        expect((await raw(srv.port, 'GET', '/readyz')).status).toBe(503),
      );
      expect(JSON.parse((await raw(srv.port, 'GET', '/readyz')).body).error.message).toMatch(
        /store/,
      );
      expect((await raw(srv.port, 'GET', '/healthz')).status).toBe(200);

      store.failing = false; // the registry retries the write, and is ready again
      await vi.waitFor(
        async () => expect((await raw(srv.port, 'GET', '/readyz')).status).toBe(200),
        {
          timeout: 10_000,
        },
      );
      await registry.close();
      expect((await raw(srv.port, 'GET', '/readyz')).status).toBe(503);
      expect((await raw(srv.port, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await srv.close();
      await registry.close();
    }
  });
});

describe('event replies say whether the state changed, with the resulting status', () => {
  let registry: Registry<typeof demoMachines>;
  let srv: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    registry = createRegistry({ machines: demoMachines });
    await registry.start();
    srv = await serve(registry);
  });
  afterAll(async () => {
    await srv.close();
    await registry.close();
  });
  const send = (id: string, event: unknown) =>
    raw(
      srv.port,
      'POST',
      `/instances/${id}/events`,
      { 'content-type': 'application/json' },
      JSON.stringify(event),
    );

  it('an event the current state ignores: 202, changed false, the unchanged status', async () => {
    await registry.spawnSingleton('approval', 'po-9');
    const res = await send('po-9', { type: 'PAUSE' });
    expect(res.status).toBe(202);
    expect(JSON.parse(res.body)).toMatchObject({
      accepted: true,
      changed: false,
      status: {
        id: 'po-9',
        status: 'running',
        value: 'pending',
        links: { status: '/instances/po-9' },
      },
    });
  });

  it('an event that moves the instance: 202, changed true, the status it ended in', async () => {
    const res = await send('po-9', { type: 'APPROVE', by: 'ada' });
    expect(res.status).toBe(202);
    expect(JSON.parse(res.body)).toMatchObject({
      accepted: true,
      changed: true,
      status: { status: 'done', value: 'approved', context: { decidedBy: 'ada' } },
    });
  });

  it('the same event twice: a change the first time, none the second', async () => {
    await registry.spawnSingleton('heartbeat', 'hb', { input: { intervalMs: 3_600_000 } });
    expect(JSON.parse((await send('hb', { type: 'PAUSE' })).body).changed).toBe(true);
    expect(JSON.parse((await send('hb', { type: 'PAUSE' })).body).changed).toBe(false);
    expect(JSON.parse((await send('hb', { type: 'RESUME' })).body)).toMatchObject({
      changed: true,
      status: { value: 'beating' },
    });
  });
});
