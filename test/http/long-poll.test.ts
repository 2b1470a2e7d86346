import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createTestRegistry, type TestRegistry } from '../../src/testing/index.js';
import { raw, serve } from './support.js';

describe('long polls: GET /instances/{id}?waitMs=N', () => {
  let registry: TestRegistry<typeof demoMachines>;
  let srv: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    registry = await createTestRegistry({ machines: demoMachines });
    srv = await serve(registry, { maxWaitMs: 60_000 });
  });
  afterAll(async () => {
    await srv.close();
    await registry.close();
  });

  const waiters = () => registry.stats().waiters;

  it('a poll that runs out while the instance still runs answers 202 with Retry-After', async () => {
    await registry.spawnSingleton('job', 'slow', { input: { steps: 1, stepMs: 3_600_000 } });
    const answer = raw(srv.port, 'GET', '/instances/slow?waitMs=5000');
    await vi.waitFor(() => expect(waiters()).toBe(1));
    await registry.clock.increment(5000);
    const res = await answer;
    expect(res.status).toBe(202);
    expect(res.headers['retry-after']).toBe('1');
    expect(JSON.parse(res.body)).toMatchObject({ id: 'slow', status: 'running' });
    expect(waiters()).toBe(0);
  });

  it('a poll that sees the instance finish answers 200 with its output', async () => {
    await registry.spawnSingleton('job', 'cancelled', { input: { steps: 1, stepMs: 3_600_000 } });
    const answer = raw(srv.port, 'GET', '/instances/cancelled?waitMs=60000');
    await vi.waitFor(() => expect(waiters()).toBe(1));
    await registry.send('cancelled', { type: 'CANCEL' });
    const res = await answer;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'done', value: 'cancelled' });
    // A finished instance answers 200 at once, waitMs or not.
    expect((await raw(srv.port, 'GET', '/instances/cancelled?waitMs=60000')).status).toBe(200);
  });

  it('200 polls whose clients hang up leave no waiter behind', async () => {
    await registry.spawnSingleton('job', 'watched', { input: { steps: 1, stepMs: 3_600_000 } });
    const sockets: Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const socket = connect(srv.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(
        `GET /instances/watched?waitMs=60000 HTTP/1.1\r\nhost: 127.0.0.1:${srv.port}\r\n\r\n`,
      );
      sockets.push(socket);
    }
    await vi.waitFor(() => expect(waiters()).toBe(200), { timeout: 20_000 });
    for (const socket of sockets) socket.destroy();
    await vi.waitFor(() => expect(waiters()).toBe(0), { timeout: 20_000 });
    // The instance is unharmed and still answers.
    expect((await registry.getStatus('watched'))?.status).toBe('running');
  });

  it('registry.waitFor takes a signal: aborting rejects with ABORTED and removes the waiter', async () => {
    await registry.spawnSingleton('job', 'direct', { input: { steps: 1, stepMs: 3_600_000 } });
    const controller = new AbortController();
    const waiting = registry.waitFor('direct', 'done', { signal: controller.signal });
    await vi.waitFor(() => expect(waiters()).toBe(1));
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    expect(waiters()).toBe(0);
    await expect(
      registry.waitFor('direct', 'done', { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(waiters()).toBe(0);
  });
});
