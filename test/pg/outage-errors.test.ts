/**
 * While the database was unreachable, calls rejected with the driver's bare
 * errors (ECONNREFUSED, a terminated connection), without a `code` a caller
 * can act on, and the HTTP API answered 500. The database here sits behind
 * a TCP proxy that the test cuts: every call must reject with a RegistryError
 * (the store failing: PERSIST_FAILED), HTTP must answer 503, and the
 * registry must work again once the proxy lets connections through.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpHandler } from '../../src/http/index.js';
import { createRegistry, isRegistryError } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { machines } from '../fixtures.js';
import { freshTable, noPg, server } from './helpers.js';

/** Forwards to the test server while `open`; cut() drops every connection and refuses new ones. */
async function proxy(): Promise<{
  url: string;
  cut(): void;
  mend(): void;
  close(): Promise<void>;
}> {
  let open = true;
  const sockets = new Set<Socket>();
  const srv: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(server.port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  return {
    url: server.url.replace(`:${server.port}/`, `:${port}/`),
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    mend() {
      open = true;
    },
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

describe.skipIf(noPg)('PostgreSQL unreachable', () => {
  it('every call rejects with a coded error, HTTP answers 503, and all works again after', async () => {
    const link = await proxy();
    open.push(link);
    const table = freshTable();
    const registry = createRegistry({
      machines,
      store: new PostgresStore({ connectionString: link.url, table, leaseMs: 30_000 }),
      takeoverIntervalMs: 60_000,
    });
    registry.on('error', () => {});
    open.push(registry);
    await registry.start();
    await registry.spawnSingleton('counter', 'here');
    await registry.flush();
    link.cut();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['spawnSingleton', () => registry.spawnSingleton('counter', 'new')],
      ['getStatus', () => registry.getStatus('elsewhere')],
      ['list', () => registry.list()],
      ['counts', () => registry.counts()],
      ['quarantined', () => registry.quarantined()],
      ['history', () => registry.history('elsewhere')],
      ['send', () => registry.send('elsewhere', { type: 'INC' })],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect([name, isRegistryError(err) && err.code]).toEqual([name, 'PERSIST_FAILED']);
    }
    const response = await createHttpHandler(registry)(new Request('http://localhost/instances'));
    expect(response.status).toBe(503);
    link.mend();
    await registry.spawnSingleton('counter', 'after');
    await registry.flush();
    expect((await registry.list()).items.map((s) => s.id).sort()).toEqual(['after', 'here']);
  }, 60_000);
});
