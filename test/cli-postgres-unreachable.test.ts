import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run-cli.js';

/** A server that accepts connections and never answers: a hung or black-holed database. */
let silent: Server;
const sockets: Socket[] = [];
let port: number;
beforeAll(async () => {
  silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  port = (silent.address() as { port: number }).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

async function run(...argv: string[]) {
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
  return { code: await runCli(argv, io), text: lines.join('\n') };
}

describe('CLI over a PostgreSQL URL it cannot use', () => {
  it('a server that never answers: exit 1 with a RegistryError, no hang', async () => {
    const got = await run('--store', `postgres://ops:s3cret@127.0.0.1:${port}/app`, 'ls');
    expect(got.code).toBe(1);
    expect(got.text).toMatch(
      /^error INVALID_ARGUMENT: Could not connect to PostgreSQL at postgres:\/\/ops:\*\*\*@127\.0\.0\.1/,
    );
    expect(got.text).not.toContain('s3cret');
  }, 60_000);

  it('a port nobody listens on: exit 1 with a RegistryError naming the cause, no password', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const free = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const got = await run('--store', `postgresql://ops:s3cret@127.0.0.1:${free}/app`, 'ls');
    expect(got.code).toBe(1);
    expect(got.text).toMatch(/^error INVALID_ARGUMENT: Could not connect .*ECONNREFUSED/);
    expect(got.text).not.toContain('s3cret');
  }, 60_000);
});
