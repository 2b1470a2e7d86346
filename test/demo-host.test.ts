import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const root = join(import.meta.dirname, '..');

/** Starts `npm start`'s host on a free port; resolves with its URL once it listens. */
function startHost(
  dataDir: string,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo-host.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1] && out.includes('Try: ')) resolve({ child, url: m[1], output: () => out });
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => reject(new Error(`host exited early (${code}): ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** Runs the demo host with `env` until it exits by itself: its exit code and everything it printed. */
function runHostToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo-host.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (d) => {
      out += d;
    });
  return new Promise((resolve) =>
    child.on('exit', (code) => resolve({ code, lines: out.trim().split('\n') })),
  );
}

describe('the demo host (npm start)', () => {
  it('on a taken port prints one line that names PORT, and exits 1', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as AddressInfo;
    try {
      const { code, lines } = await runHostToExit({
        PORT: String(port),
        DATA_DIR: await tempDir(),
      });
      expect(code).toBe(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`Port ${port} .*taken.*PORT=`));
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 60_000);

  // Each printed a stack trace: PORT was never checked, and start() had no catch.
  it.each([
    ['a PORT that is not a port', { PORT: 'abc' }, /^PORT must be a port number/],
    [
      'a DATA_DIR that is a file',
      { PORT: '0', DATA_DIR: 'FILE' },
      /^Cannot start on .*INVALID_ARGUMENT/,
    ],
  ])(
    '%s: one line, exit 1',
    async (_name, env: Record<string, string>, line) => {
      const base = await tempDir();
      const file = join(base, 'a-file');
      writeFileSync(file, 'x');
      const { code, lines } = await runHostToExit({
        DATA_DIR: base,
        ...env,
        ...(env.DATA_DIR === 'FILE' ? { DATA_DIR: file } : {}),
      });
      expect(code).toBe(1);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(line);
    },
    60_000,
  );

  it('prints its URL and a curl line, and resumes its instances after a restart', async () => {
    const dataDir = await tempDir();
    const first = await startHost(dataDir);
    expect(first.output()).toContain('curl -i -X POST');
    const post = (url: string, path: string, body: unknown) =>
      fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(
      (await post(first.url, '/instances/job/nightly-report', { steps: 3, stepMs: 3_600_000 }))
        .status,
    ).toBe(201);
    expect((await post(first.url, '/instances/approval/po-7', { subject: 'chairs' })).status).toBe(
      201,
    );
    expect(
      (await post(first.url, '/instances/po-7/events', { type: 'APPROVE', by: 'ada' })).status,
    ).toBe(202);
    expect(await stop(first.child)).toBe(0);
    expect(first.output()).toContain('closed cleanly');

    const second = await startHost(dataDir);
    expect(second.output()).toMatch(/Resumed 1 running instance\(s\), 1 finished/);
    const job = await (await fetch(`${second.url}/instances/nightly-report`)).json();
    expect(job).toMatchObject({
      status: 'running',
      value: 'working',
      context: { steps: 3, done: 0 },
    });
    const po = await (await fetch(`${second.url}/instances/po-7`)).json();
    expect(po).toMatchObject({ status: 'done', value: 'approved', context: { decidedBy: 'ada' } });
    // Still a singleton after the restart: the seed's 409.
    expect((await post(second.url, '/instances/job/nightly-report', {})).status).toBe(409);
    expect(await stop(second.child)).toBe(0);
  }, 60_000);
});
