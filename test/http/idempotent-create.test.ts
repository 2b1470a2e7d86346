import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createRegistry, FileStore, type Registry } from '../../src/index.js';
import { type Listening, serve } from './support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function host(
  dir: string,
): Promise<{ registry: Registry<typeof demoMachines>; server: Listening }> {
  const registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
  await registry.start();
  const server = await serve(registry);
  cleanups.push(
    () => server.close(),
    () => registry.close(),
  );
  return { registry, server };
}

function create(base: string, type: string, body: unknown, key?: string) {
  return fetch(`${base}/instances/${type}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  });
}

describe('POST /instances/{type} honours Idempotency-Key', () => {
  it('a retried create makes one instance: 201 first, then 200 with the same instance, concurrently, after it finishes, and after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xr-idem-create-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await host(dir);
    const base = first.server.base;

    // Ten concurrent retries of one request: one creates, nine find it.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => create(base, 'approval', { subject: 'chairs' }, 'req-1')),
    );
    const bodies = await Promise.all(answers.map((r) => r.json()));
    expect(answers.map((r) => r.status).sort((x, y) => x - y)).toEqual([
      ...Array(9).fill(200),
      201,
    ]);
    const id = bodies[answers.findIndex((r) => r.status === 201)].id as string;
    expect(bodies.every((b) => b.id === id && b.type === 'approval')).toBe(true);
    expect(bodies.every((b) => b.context.subject === 'chairs')).toBe(true);
    const replayed = answers.filter((r) => r.status === 200);
    expect(replayed.every((r) => r.headers.get('idempotent-replayed') === 'true')).toBe(true);
    expect((await first.registry.counts()).total).toBe(1);

    // Another key, another instance; no key, a new instance every time (as before).
    const other = await (await create(base, 'approval', {}, 'req-2')).json();
    expect(other.id).not.toBe(id);
    const a = await create(base, 'approval', {});
    const b = await create(base, 'approval', {});
    expect([a.status, b.status]).toEqual([201, 201]);
    expect((await a.json()).id).not.toBe((await b.json()).id);
    expect((await first.registry.counts()).total).toBe(4);

    // A retry after the instance finished returns it, finished: never a second one.
    await first.registry.send(id, { type: 'APPROVE', by: 'ada' });
    const late = await create(base, 'approval', { subject: 'chairs' }, 'req-1');
    expect(late.status).toBe(200);
    expect(await late.json()).toMatchObject({ id, status: 'done' });

    // The key is not held in memory: a restarted host answers the same.
    await first.server.close();
    await first.registry.close();
    const second = await host(dir);
    const again = await create(second.server.base, 'approval', { subject: 'chairs' }, 'req-1');
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id, status: 'done' });
    // The same key for another type names another instance.
    const job = await create(second.server.base, 'job', { steps: 1, stepMs: 60_000 }, 'req-1');
    expect(job.status).toBe(201);
    expect((await job.json()).id).not.toBe(id);
    expect((await second.registry.counts()).total).toBe(5);
  });

  it('a malformed key is refused with 400 INVALID_ARGUMENT and creates nothing', async () => {
    const registry = createRegistry({ machines: demoMachines });
    await registry.start();
    const server = await serve(registry);
    cleanups.push(
      () => server.close(),
      () => registry.close(),
    );
    const res = await create(server.base, 'approval', {}, 'k'.repeat(257));
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe('INVALID_ARGUMENT');
    expect((await registry.counts()).total).toBe(0);
  });
});
