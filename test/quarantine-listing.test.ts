import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createHttpHandler, type HttpAction, toNodeListener } from '../src/http/index.js';
import { createRegistry, FileStore, MemoryStore, type Registry } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';
import { nodeFs } from '../src/stores/fs-layer.js';

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
    const listed = (await registry.quarantined())?.items;
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
    expect(await store.listSetAside()).toEqual({ items: [], cursor: null });
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

describe('quarantine listing is bounded: a page, a cursor, and a streamed directory', () => {
  it('20,000 files set aside: FileStore lists 1,000 by default, newest first, pages through all by cursor, never reading the whole directory at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xr-quarantine-many-'));
    dirs.push(dir);
    const setup = new FileStore({ dir });
    await setup.open();
    await setup.close();
    const q = join(dir, 'quarantine');
    const total = 20_000;
    for (let i = 0; i < total; i++) {
      // Set-aside names carry their time: one per second from 2026-01-01, so the newest is the last.
      const stamp = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace(/[:.]/g, '-');
      const base = `f${i}.${stamp}.abc`;
      writeFileSync(join(q, `${base}.json`), `{"id":"i${i}"}`);
      writeFileSync(join(q, `${base}.reason.txt`), 'CORRUPT_RECORD: test\n');
    }
    // Fault injection: a whole-directory read of quarantine/ fails, so only streaming passes.
    const store = new FileStore({
      dir,
      fs: {
        ...nodeFs,
        readdir: async (path) => {
          if (path === q) throw Object.assign(new Error('EMFILE: readdir'), { code: 'EMFILE' });
          return nodeFs.readdir(path);
        },
      },
    });
    await store.openReadOnly();
    const first = await store.listSetAside();
    expect(first.items).toHaveLength(1000);
    expect(first.items[0]).toMatchObject({ id: `i${total - 1}`, reason: 'CORRUPT_RECORD: test' });
    expect(first.items[999]?.id).toBe(`i${total - 1000}`);
    expect(first.cursor).not.toBeNull();
    const seen = new Set(first.items.map((r) => r.id));
    let cursor = first.cursor;
    let pages = 1;
    while (cursor !== null) {
      const page = await store.listSetAside({ limit: 10_000, cursor });
      expect(page.items.length).toBeLessThanOrEqual(10_000);
      for (const r of page.items) seen.add(r.id);
      cursor = page.cursor;
      pages++;
    }
    expect(seen.size).toBe(total);
    expect(pages).toBe(3); // 1,000 + 10,000 + 9,000
    await store.close();
  }, 120_000);

  it('GET /quarantine?limit=&cursor= pages, and refuses a bad limit or cursor with 400', async () => {
    const store = new MemoryStore();
    const registry = createRegistry({ machines: demoMachines, store });
    for (let i = 0; i < 5; i++) store.inject(`bad-${i}`, `{"id":"bad-${i}"`);
    await registry.start();
    cleanups.push(() => registry.close());
    const base = await serve(registry);
    const one = await (await fetch(`${base}/quarantine?limit=3`)).json();
    expect(one.items).toHaveLength(3);
    expect(typeof one.cursor).toBe('string');
    const two = await (
      await fetch(`${base}/quarantine?limit=3&cursor=${encodeURIComponent(one.cursor)}`)
    ).json();
    expect(two.items).toHaveLength(2);
    expect(two.cursor).toBeUndefined();
    expect([...one.items, ...two.items].map((r: { key: string }) => r.key).sort()).toEqual([
      'bad-0',
      'bad-1',
      'bad-2',
      'bad-3',
      'bad-4',
    ]);
    for (const q of ['limit=0', 'limit=10001', 'limit=x', 'cursor=nope']) {
      const res = await fetch(`${base}/quarantine?${q}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe('INVALID_ARGUMENT');
    }
  });
});
