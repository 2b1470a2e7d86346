import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { demoMachines } from '../examples/machines.js';
import { createRegistry, FileStore } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';
import { buildCli, CLI_BIN, cli } from './support/cli.js';

const root = resolve(import.meta.dirname, '..');

let dir: string;
let owner: ChildProcess | undefined;

beforeAll(async () => {
  // The CLI under test is the built one, as `npx xstate-registry` runs it.
  await buildCli();
  dir = mkdtempSync(join(tmpdir(), 'xr-cli-'));
  // po/* keep a history (approval); the job does not, so its `history` prints nothing.
  const registry = createRegistry({
    machines: demoMachines,
    store: new FileStore({ dir }),
    history: { types: ['approval'] },
  });
  await registry.start();
  await registry.spawnSingleton('approval', 'po/1', { input: { subject: 'laptop' } });
  await registry.spawnSingleton('approval', 'po/2');
  await registry.send('po/2', { type: 'APPROVE', by: 'ada' });
  await registry.spawnSingleton('job', 'job/1', { input: { steps: 3, stepMs: 3_600_000 } });
  await registry.spawnSingleton('approval', 'bad/1');
  await registry.close();
  const bad = join(dir, 'instances', fileNameFor('bad/1'));
  writeFileSync(bad, readFileSync(bad, 'utf8').replace('"type":"approval"', '"type":"retired"'));
}, 180_000);

afterAll(async () => {
  owner?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a real process that owns `dir` through a live registry. */
async function startOwner(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'test/support/registry-owner.ts'), dir],
    {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) if (line === 'ready') break;
  return child;
}

describe('the xstate-registry CLI (built, as a child process) over a FileStore directory', () => {
  it('reads while a live process owns the directory, and refuses to change it with STORE_LOCKED', async () => {
    owner = await startOwner();
    const lockBefore = readdirSync(join(dir, 'LOCK'));

    const all = await cli('--store', dir, 'ls');
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^ID\s+TYPE\s+STATUS\s+STATE\s+UPDATED/);
    for (const id of ['po/1', 'po/2', 'job/1']) expect(all.out).toContain(id);
    expect(all.out).not.toContain('bad/1'); // set aside by the owner's start

    const running = await cli(
      '--store',
      dir,
      'ls',
      '--status',
      'running',
      '--prefix',
      'po/',
      '--json',
    );
    expect(
      running.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['po/1']);
    const jobs = await cli('--store', dir, 'ls', '--type', 'job', '--json');
    expect(JSON.parse(jobs.out)).toMatchObject({
      id: 'job/1',
      value: 'working',
      timers: [{ event: expect.any(String) }],
    });
    const limited = await cli('--store', dir, 'ls', '--limit', '1', '--json');
    expect(limited.out.trim().split('\n')).toHaveLength(1);
    expect(limited.err).toMatch(/more; raise --limit/);

    const show = await cli('--store', dir, 'show', 'po/2');
    expect(JSON.parse(show.out)).toMatchObject({
      id: 'po/2',
      status: 'done',
      value: 'approved',
      context: { decidedBy: 'ada' },
    });
    const history = await cli('--store', dir, 'history', 'po/2', '--json');
    expect(history.code).toBe(0);
    const entries = history.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(entries.at(-1)).toMatchObject({
      source: 'api',
      event: { type: 'APPROVE', by: 'ada' },
      after: 'approved',
    });
    const text = await cli('--store', dir, 'history', 'po/2');
    expect(text.out).toMatch(/\tapi\tAPPROVE\t"pending" -> "approved"/);
    expect(await cli('--store', dir, 'history', 'job/1')).toMatchObject({ code: 0, out: '' });

    const listed = await cli('--store', dir, 'quarantine', 'ls', '--json');
    const aside = JSON.parse(listed.out);
    expect(aside).toMatchObject({ id: 'bad/1', reason: expect.stringMatching(/^UNKNOWN_MACHINE/) });

    const purge = await cli('--store', dir, 'purge', 'po/2');
    expect(purge.code).toBe(1);
    expect(purge.err).toMatch(/^error STORE_LOCKED/);
    const restore = await cli('--store', dir, 'quarantine', 'restore', aside.key);
    expect(restore.code).toBe(1);
    expect(restore.err).toMatch(/^error STORE_LOCKED/);
    // Nothing changed under the owner: its lock, the record, the quarantine.
    expect(readdirSync(join(dir, 'LOCK'))).toEqual(lockBefore);
    expect(existsSync(join(dir, 'instances', fileNameFor('po/2')))).toBe(true);
    expect((await cli('--store', dir, 'quarantine', 'ls', '--json')).out).toBe(listed.out);

    owner.stdin?.write('exit\n');
    await new Promise((r) => owner?.once('exit', r));
    owner = undefined;
  }, 120_000);

  it('changes the store once no process owns it: purge (running needs --force), quarantine restore', async () => {
    const running = await cli('--store', dir, 'purge', 'po/1');
    expect(running).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^error INSTANCE_RUNNING/),
    });
    expect(await cli('--store', dir, 'purge', 'po/2')).toMatchObject({
      code: 0,
      out: 'purged po/2\n',
    });
    expect(await cli('--store', dir, 'purge', 'po/1', '--force')).toMatchObject({ code: 0 });
    expect((await cli('--store', dir, 'show', 'po/2')).err).toMatch(/^error INSTANCE_NOT_FOUND/);

    const aside = JSON.parse((await cli('--store', dir, 'quarantine', 'ls', '--json')).out);
    expect(await cli('--store', dir, 'quarantine', 'restore', aside.key)).toMatchObject({
      code: 0,
    });
    expect((await cli('--store', dir, 'quarantine', 'ls')).out).toBe('');
    expect(existsSync(join(dir, 'instances', fileNameFor('bad/1')))).toBe(true);
    const again = await cli('--store', dir, 'quarantine', 'restore', aside.key);
    expect(again).toMatchObject({ code: 1, err: expect.stringMatching(/^error INVALID_ARGUMENT/) });
  }, 120_000);

  it('answers bad usage with a message and exit code 2, and a bad store or filter with a RegistryError', async () => {
    expect(await cli('ls')).toMatchObject({ code: 2, err: expect.stringMatching(/--store/) });
    expect(await cli('--store', dir)).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^Usage/),
    });
    expect(await cli('--store', dir, 'ls', '--bogus')).toMatchObject({ code: 2 });
    const notDir = await cli('--store', join(dir, 'nope'), 'ls');
    expect(notDir).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^error INVALID_ARGUMENT: .* not a registry data directory/),
    });
    expect(existsSync(join(dir, 'nope'))).toBe(false); // never created by a typo
    expect((await cli('--store', dir, 'ls', '--status', 'sleeping')).err).toMatch(
      /^error INVALID_ARGUMENT/,
    );
    expect((await cli('--store', dir, 'frobnicate')).err).toMatch(
      /^error INVALID_ARGUMENT: Unknown command/,
    );
    expect((await cli('--help')).code).toBe(0);
    // These answered exit code 1, and an empty name list listed nothing at all.
    for (const args of [
      ['frobnicate'],
      ['show'],
      ['ls', '--status', 'sleeping'],
      ['ls', '--limit', '0'],
      ['ls', '--order', 'x'],
      ['ls', '--status', ''],
      ['ls', '--type', ','],
    ])
      expect([args.join(' '), (await cli('--store', dir, ...args)).code]).toEqual([
        args.join(' '),
        2,
      ]);
  }, 60_000);

  // `ls | head -1` crashed with an unhandled EPIPE and its stack trace.
  it('stops quietly when the reader of its output goes away', async () => {
    const run = await new Promise<{ code: number | null; err: string }>((done) => {
      let err = '';
      const child = spawn('bash', [
        '-c',
        `set -o pipefail; "${process.execPath}" "${CLI_BIN}" --store "${dir}" ls --json | true`,
      ]);
      child.stderr.on('data', (d) => {
        err += String(d);
      });
      child.on('close', (code) => done({ code, err }));
    });
    expect(run).toEqual({ code: 0, err: '' });
  }, 60_000);

  // show threw on a BigInt ("Do not know how to serialize a BigInt") and printed a Map or Set as {}.
  it('shows a BigInt, a Map and a Set as getStatus does', async () => {
    const rich = mkdtempSync(join(tmpdir(), 'xr-cli-rich-'));
    const holder = setup({ types: { context: {} as Record<string, unknown> } }).createMachine({
      context: { n: 2n ** 70n, m: new Map([[1, { a: 1 }]]), s: new Set([1, 2]) },
    });
    const registry = createRegistry({ machines: { holder }, store: new FileStore({ dir: rich }) });
    await registry.start();
    await registry.spawnSingleton('holder', 'h');
    const status = await registry.getStatus('h');
    await registry.close();
    const shown = await cli('--store', rich, 'show', 'h');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.out).context).toEqual(status?.context);
    expect(JSON.parse(shown.out).context).toEqual({
      n: String(2n ** 70n),
      m: [[1, { a: 1 }]],
      s: [1, 2],
    });
    const listed = await cli('--store', rich, 'ls', '--json');
    expect(JSON.parse(listed.out).context).toEqual(status?.context);
    rmSync(rich, { recursive: true, force: true });
  }, 60_000);
});
