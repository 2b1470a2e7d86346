import { type ChildProcess, fork } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MB = 1024 * 1024;

function ask<T>(child: ChildProcess, message: object, key: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (reply: Record<string, unknown>) => {
      if (!(key in reply)) return;
      child.off('message', onMessage);
      resolve(reply as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

describe('event stream backpressure (a server in a child process, 20 clients that never read)', () => {
  let child: ChildProcess;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    child = fork(join(import.meta.dirname, 'sse-child.ts'), [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    port = await new Promise<number>((resolve) =>
      child.once('message', (m: { port: number }) => resolve(m.port)),
    );
  }, 60_000);
  afterAll(() => {
    for (const s of sockets) s.destroy();
    child?.kill();
  });

  it('keeps its memory bounded and drops the clients that stopped reading', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = connect(port, '127.0.0.1');
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write(
        `GET /events HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\naccept: text/event-stream\r\n\r\n`,
      );
      // A client that never reads: once the kernel's buffers fill, the server's writes stall.
      socket.pause();
      sockets.push(socket);
    }
    const before = await ask<{ memory: number }>(child, { cmd: 'memory' }, 'memory');
    // 60 batches of ~110 KB to each of 20 clients: ~130 MB the server would hold without a bound.
    await ask(child, { cmd: 'churn', rounds: 60 }, 'churned');
    const after = await ask<{ memory: number; stats: { queuedBytes: number; dropped: number } }>(
      child,
      { cmd: 'memory' },
      'memory',
    );
    const growth = after.memory - before.memory;
    expect(growth, `grew ${(growth / MB).toFixed(1)} MB`).toBeLessThan(30 * MB);
    expect(after.stats.dropped).toBe(20);
    expect(after.stats.queuedBytes).toBe(0);
  }, 120_000);
});
