import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createHttpHandler, type HttpAction, toNodeListener } from '../src/http/index.js';
import { createRegistry, FileStore, type Registry } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(registry: Registry<any>, authorize?: (a: HttpAction) => boolean) {
  const handler = createHttpHandler(
    registry,
    authorize ? { authorize: (_r, a) => authorize(a) } : {},
  );
  const server: Server = createServer(toNodeListener(handler));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('quarantine listing: FileStore, registry.quarantined(), GET /quarantine', () => {
  it('lists a record set aside at start with its ID and reason; restores it once fixed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xr-quarantine-'));
    dirs.push(dir);
    let registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
    await registry.start();
    await registry.spawnSingleton('approval', 'good');
    await registry.spawnSingleton('approval', 'bad/1');
    await registry.close();
    // A record of an unknown type: set aside at start, intact.
    const file = join(dir, 'instances', fileNameFor('bad/1'));
    const text = (await import('node:fs')).readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"type":"approval"', '"type":"retired"'));

    registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
    await registry.start();
    const listed = await registry.quarantined();
    expect(listed).toHaveLength(1);
    expect(listed?.[0]).toMatchObject({
      id: 'bad/1',
      reason: expect.stringMatching(/^UNKNOWN_MACHINE/),
    });

    const base = await serve(registry, (a) => a === 'read' || a === 'dashboard');
    const res = await fetch(`${base}/quarantine`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.items).toEqual([
      expect.objectContaining({
        key: listed?.[0]?.key,
        id: 'bad/1',
        at: expect.stringMatching(/Z$/),
      }),
    ]);
    // Restoring needs the store's lock, which the running registry holds.
    await registry.close();

    const store = new FileStore({ dir });
    await store.open();
    await store.restoreSetAside(listed?.[0]?.key as string);
    expect(await store.listSetAside()).toEqual([]);
    expect(readdirSync(join(dir, 'quarantine'))).toEqual([]);
    await store.close();
    // Restored as it was set aside: still an unknown type, so it is set aside again, never lost.
    registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
    const summary = await registry.start();
    expect(summary.quarantined.map((q) => q.id)).toEqual(['bad/1']);
    expect(await registry.getStatus('good')).toMatchObject({ status: 'running' });
    await registry.close();
  });

  it('GET /quarantine is authorised as read; a store that cannot list answers 404', async () => {
    const registry = createRegistry({ machines: demoMachines });
    await registry.start();
    cleanups.push(() => registry.close());
    const seen: HttpAction[] = [];
    const base = await serve(registry, (a) => {
      seen.push(a);
      return a !== 'read';
    });
    const denied = await fetch(`${base}/quarantine`);
    expect(denied.status).toBe(403);
    expect(seen).toEqual(['read']);
    const open = await serve(registry);
    expect(await (await fetch(`${open}/quarantine`)).json()).toEqual({ items: [] });
  });

  it('a read-only FileStore reads a directory a live registry owns, and refuses changes with STORE_LOCKED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xr-readonly-'));
    dirs.push(dir);
    const registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
    await registry.start();
    cleanups.push(() => registry.close());
    await registry.spawnSingleton('approval', 'live/1');
    await registry.flush();
    const reader = new FileStore({ dir });
    await reader.openReadOnly();
    expect(JSON.parse((await reader.read('live/1')) ?? 'null')).toMatchObject({ id: 'live/1' });
    await expect(reader.remove('live/1')).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await expect(
      reader.restoreSetAside('x.2026-01-01T00-00-00-000Z.abc.json'),
    ).rejects.toMatchObject({
      code: 'STORE_LOCKED',
    });
    await reader.close();
    // The owner is untouched: it still writes.
    await registry.send('live/1', { type: 'APPROVE' });
    expect((await registry.getStatus('live/1'))?.status).toBe('done');
  });
});
