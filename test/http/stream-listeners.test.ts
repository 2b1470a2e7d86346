import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toNodeListener } from '../../src/http/index.js';
import { listen } from './support.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('toNodeListener streams a long body without gaining a listener per full socket buffer', () => {
  it("a slow reader of 300 chunks of 64 KiB: the response's 'close' and 'drain' listeners stay bounded, and no MaxListenersExceededWarning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    cleanups.push(() => void process.off('warning', onWarning));

    let res: ServerResponse | undefined;
    let maxClose = 0;
    let maxDrain = 0;
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(120);
    // The handler as an event stream is: a body the client reads at its own pace.
    const listener = toNodeListener(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              if (res) {
                maxClose = Math.max(maxClose, res.listenerCount('close'));
                maxDrain = Math.max(maxDrain, res.listenerCount('drain'));
              }
              if (sent++ === 300) controller.close();
              else controller.enqueue(chunk);
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    );
    const server = await listen(
      createServer((req, r) => {
        res = r;
        listener(req, r);
      }),
    );
    cleanups.push(() => server.close());

    // A client that reads slowly: paused most of the time, so the server's writes fill the socket.
    const received = await new Promise<number>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1');
      let bytes = 0;
      socket.on('error', reject);
      socket.on('data', (d) => {
        bytes += d.length;
        socket.pause();
        setTimeout(() => socket.resume(), 1);
      });
      socket.on('end', () => resolve(bytes));
      socket.write('GET /stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    expect(received).toBeGreaterThan(300 * 64 * 1024);
    expect(sent).toBe(301);
    expect(maxClose).toBeLessThanOrEqual(5);
    expect(maxDrain).toBeLessThanOrEqual(1);
    expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).toEqual([]);
  }, 60_000);
});
