import { execFile, spawn } from 'node:child_process';
import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { createRegistry, FileStore } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';
import { type FsLayer, nodeFs, TestClock } from '../src/testing/index.js';
import { machines } from './fixtures.js';
import { tempDir } from './helpers.js';

const run = promisify(execFile);

/** Where start() reads the files: a large store reads them in a worker thread. */
type Reader = 'main thread' | 'worker' | 'broken-worker';

interface ChildStart {
  summary: { restored: number; quarantined: Array<{ key: string; code: string; message: string }> };
  ids: string[];
  errors: string[];
  loads: { workers: number; fallbacks: number; running: number };
}

/**
 * Starts a registry over `dir` in a child process. A start that never ends
 * (a FIFO opened synchronously blocks the child's event loop for good) is
 * killed after a generous minute and fails the test as a hang.
 */
function startInChild(dir: string, reader: Reader = 'main thread'): Promise<ChildStart> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      join(import.meta.dirname, 'support', 'start-store.ts'),
      dir,
      ...(reader === 'main thread' ? [] : [reader]),
    ]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (code === 0) resolve(JSON.parse(out));
      else
        reject(new Error(`start() in a child ended with ${code ?? signal}: ${err.slice(-2000)}`));
    });
  });
}

async function seed(dir: string, ids: string[]): Promise<void> {
  const registry = createRegistry({ machines, store: new FileStore({ dir }) });
  await registry.start();
  for (const id of ids) await registry.spawnSingleton('counter', id);
  await registry.close();
}

describe.each(['main thread', 'worker', 'broken-worker'] as const)(
  'only regular files are read (reader: %s)',
  (reader) => {
    it('a FIFO, a directory, a symlink to /dev/zero (and, as root, a device) named like records are set aside without blocking', async () => {
      const dir = await tempDir();
      await seed(dir, ['good']);
      const inst = join(dir, 'instances');
      await run('mkfifo', [join(inst, fileNameFor('fifo'))]);
      await mkdir(join(inst, fileNameFor('folder')));
      await writeFile(join(inst, fileNameFor('folder'), 'inside.json'), '{}');
      await symlink('/dev/zero', join(inst, fileNameFor('zero')));
      // A symlink to a good record is not followed either: it could point anywhere.
      await symlink(join(inst, fileNameFor('good')), join(inst, fileNameFor('alias')));
      const special = ['fifo', 'folder', 'zero', 'alias'];
      if (process.getuid?.() === 0) {
        await run('mknod', [join(inst, fileNameFor('device')), 'c', '1', '5']);
        special.push('device');
      }
      const { summary, ids, loads } = await startInChild(dir, reader);
      // The path named is the one that read them.
      expect(loads).toEqual({
        workers: reader === 'main thread' ? 0 : 1,
        fallbacks: reader === 'broken-worker' ? 1 : 0,
        running: 0,
      });
      expect(ids).toEqual(['good']);
      expect(summary.restored).toBe(1);
      expect(summary.quarantined.map((q) => q.key).sort()).toEqual(
        special.map((id) => fileNameFor(id)).sort(),
      );
      for (const q of summary.quarantined) {
        expect(q.code).toBe('CORRUPT_RECORD');
        expect(q.message).toMatch(/not a regular file/);
      }
      expect(await readdir(inst)).toEqual([fileNameFor('good')]);
      // Moved aside as they were: the FIFO is still a FIFO, the link still a link.
      const aside = await readdir(join(dir, 'quarantine'));
      const find = (id: string) =>
        join(
          dir,
          'quarantine',
          aside.find((n) => n.startsWith(fileNameFor(id).slice(0, 32)) && !n.endsWith('.txt')) ??
            '',
        );
      expect((await lstat(find('fifo'))).isFIFO()).toBe(true);
      expect((await lstat(find('zero'))).isSymbolicLink()).toBe(true);
      expect((await lstat(find('folder'))).isDirectory()).toBe(true);
    }, 120_000);

    // Read leniently, the damaged byte loaded as U+FFFD, and the next write made it permanent.
    it('a record with a byte that is not UTF-8 is set aside; a real U+FFFD still loads', async () => {
      const dir = await tempDir();
      const registry = createRegistry({ machines, store: new FileStore({ dir }) });
      await registry.start();
      await registry.spawnSingleton('counter', 'damaged', { input: { label: 'caf\u00e9' } });
      await registry.spawnSingleton('counter', 'genuine', { input: { label: 'caf\u00e9 \ufffd' } });
      await registry.close();
      const file = join(dir, 'instances', fileNameFor('damaged'));
      const bytes = await readFile(file);
      const at = bytes.indexOf(Buffer.from('caf\u00e9')) + 4;
      expect(bytes[at]).toBe(0xa9);
      bytes[at] = 0xff; // C3 FF: not UTF-8
      await writeFile(file, bytes);
      const { summary, ids } = await startInChild(dir, reader);
      expect(ids).toEqual(['genuine']);
      expect(summary.quarantined.map((q) => [q.key, q.code])).toEqual([
        [fileNameFor('damaged'), 'CORRUPT_RECORD'],
      ]);
      expect(summary.quarantined[0]?.message).toMatch(/not valid UTF-8/);
      const again = createRegistry({ machines, store: new FileStore({ dir }) });
      await again.start();
      expect((await again.getStatus('genuine'))?.context).toMatchObject({
        label: 'caf\u00e9 \ufffd',
      });
      // Set aside, it is still listed with its ID, and can be put back byte for byte.
      const listed = (await again.quarantined())?.items ?? [];
      expect(listed.map((q) => q.id)).toEqual(['damaged']);
      await again.close();
      const store = new FileStore({ dir });
      await store.open();
      await store.restoreSetAside(listed[0]?.key as string);
      await store.close();
      expect(await readFile(file)).toEqual(bytes);
    }, 120_000);
  },
);

describe('setting aside', () => {
  it('a quarantine that fails (EXDEV) is reported and never aborts start()', async () => {
    const dir = await tempDir();
    await seed(dir, ['good']);
    const inst = join(dir, 'instances');
    await writeFile(join(inst, fileNameFor('bad')), '{not json');
    const exdev = () =>
      Promise.reject(Object.assign(new Error('EXDEV: cross-device link'), { code: 'EXDEV' }));
    const fs: FsLayer = { ...nodeFs, link: exdev, rename: exdev };
    const registry = createRegistry({ machines, store: new FileStore({ dir, fs }) });
    const errors = vi.fn();
    registry.on('error', errors);
    const summary = await registry.start();
    expect(registry.get('good')).toBeDefined();
    expect(summary.quarantined).toMatchObject([
      { key: fileNameFor('bad'), code: 'CORRUPT_RECORD', movedAside: false },
    ]);
    expect(errors).toHaveBeenCalledWith(
      expect.objectContaining({ code: 'QUARANTINE_FAILED', details: { key: fileNameFor('bad') } }),
    );
    // Left in place, never loaded, and no stray reason note.
    expect((await readdir(inst)).sort()).toEqual([fileNameFor('bad'), fileNameFor('good')].sort());
    expect(await readdir(join(dir, 'quarantine'))).toEqual([]);
    await registry.close();
  });

  it('a record left in place because it could not be set aside is never written over by a new instance of its ID', async () => {
    const dir = await tempDir();
    const inst = join(dir, 'instances');
    // One record that does not parse, one of a type this registry lacks (a good record).
    const first = createRegistry({ machines, store: new FileStore({ dir }) });
    await first.start();
    await first.spawnSingleton('counter', 'other');
    await first.send('other', { type: 'INC' });
    await first.close();
    await writeFile(join(inst, fileNameFor('bad')), '{not json');
    const good = await readFile(join(inst, fileNameFor('other')), 'utf8');
    const exdev = () =>
      Promise.reject(Object.assign(new Error('EXDEV: cross-device link'), { code: 'EXDEV' }));
    const fs: FsLayer = { ...nodeFs, link: exdev, rename: exdev };
    const { counter: _counter, ...withoutCounter } = machines;
    const registry = createRegistry({
      machines: { ...withoutCounter, other: machines.counter },
      store: new FileStore({ dir, fs }),
    });
    registry.on('error', () => {});
    const summary = await registry.start();
    expect(summary.quarantined.map((q) => q.movedAside)).toEqual([false, false]);
    // Both IDs are refused, with the reason, rather than created over their records.
    for (const id of ['bad', 'other'])
      await expect(registry.spawnSingleton('other', id)).rejects.toMatchObject({
        code: 'QUARANTINE_FAILED',
        details: { key: fileNameFor(id) },
      });
    await registry.close();
    expect(await readFile(join(inst, fileNameFor('bad')), 'utf8')).toBe('{not json');
    expect(await readFile(join(inst, fileNameFor('other')), 'utf8')).toBe(good);
    // Once the operator moves them out (or the move works), a restart frees the IDs.
    const again = createRegistry({ machines, store: new FileStore({ dir }) });
    again.on('error', () => {});
    const next = await again.start();
    expect(next.quarantined.map((q) => q.movedAside)).toEqual([undefined]);
    expect((await again.getStatus('other'))?.context).toMatchObject({ count: 1 });
    await again.spawnSingleton('counter', 'bad');
    await again.close();
  });
});

describe('opening', () => {
  // start() rejected with the bare ENOTDIR/EEXIST of mkdir, without a code.
  it('a dir that is a file, or holds a file named instances, is refused with INVALID_ARGUMENT', async () => {
    const base = await tempDir();
    const file = join(base, 'a-file');
    await writeFile(file, 'x');
    const inner = join(base, 'holds-a-file');
    await mkdir(inner);
    await writeFile(join(inner, 'instances'), 'x');
    for (const dir of [file, inner]) {
      const registry = createRegistry({ machines, store: new FileStore({ dir }) });
      await expect(registry.start()).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { dir },
      });
    }
    expect(await readFile(join(inner, 'instances'), 'utf8')).toBe('x');
  });
});

describe('activation', () => {
  // The store's refusal reached every call and the wake-up, and the record was never set aside.
  it('a passivated record the store refuses to read is set aside, as start() would, not retried for ever', async () => {
    const dir = await tempDir();
    const clock = new TestClock(Date.UTC(2026, 0, 1));
    const r = createRegistry({
      machines,
      store: new FileStore({ dir }),
      clock,
      idleTimeoutMs: 1000,
    });
    r.on('error', () => {});
    await r.start();
    await r.spawnSingleton('counter', 'c');
    clock.increment(5000);
    await new Promise((resolve) => setImmediate(resolve));
    await r.flush();
    expect(r.get('c')).toBeUndefined();
    // Not valid UTF-8: the store refuses it (CORRUPT_RECORD) before anything parses it.
    await writeFile(
      join(dir, 'instances', fileNameFor('c')),
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    );
    await expect(r.send('c', { type: 'INC' })).rejects.toMatchObject({ code: 'CORRUPT_RECORD' });
    expect(await r.getStatus('c')).toBeUndefined();
    expect(await readdir(join(dir, 'quarantine'))).toHaveLength(2); // the record and its reason
    await r.spawnSingleton('counter', 'c'); // the ID is free again
    await r.close();
  });
});

describe('record identity', () => {
  it('a copy of a record under another name is set aside, never loaded in place of the real one', async () => {
    const dir = await tempDir();
    const inst = join(dir, 'instances');
    const first = createRegistry({ machines, store: new FileStore({ dir }) });
    await first.start();
    await first.spawnSingleton('counter', 'c');
    await first.send('c', { type: 'INC' });
    await first.close();
    const real = fileNameFor('c');
    const copy = real.replace('.json', '-copy.json');
    await copyFile(join(inst, real), join(inst, copy));
    // The record of 'c' under the name of another ID, too.
    await copyFile(join(inst, real), join(inst, fileNameFor('d')));

    const second = createRegistry({ machines, store: new FileStore({ dir }) });
    const summary = await second.start();
    expect(summary.quarantined.map((q) => q.key).sort()).toEqual([copy, fileNameFor('d')].sort());
    for (const q of summary.quarantined) {
      expect(q).toMatchObject({ id: 'c', code: 'CORRUPT_RECORD' });
      expect(q.message).toMatch(/not the file of instance 'c'/);
    }
    expect(second.get('d')).toBeUndefined();
    await second.send('c', { type: 'INC' });
    await second.close();

    const third = createRegistry({ machines, store: new FileStore({ dir }) });
    await third.start();
    expect(third.get('c')?.getSnapshot().context.count).toBe(2);
    await third.close();
  });

  it('a purged instance never comes back through a stray copy', async () => {
    const dir = await tempDir();
    const inst = join(dir, 'instances');
    const first = createRegistry({ machines, store: new FileStore({ dir }) });
    await first.start();
    await first.spawnSingleton('counter', 'p');
    await first.flush();
    await copyFile(
      join(inst, fileNameFor('p')),
      join(inst, `${fileNameFor('p').slice(0, -5)}.bak.json`),
    );
    await first.purge('p', { force: true });
    await first.close();
    const second = createRegistry({ machines, store: new FileStore({ dir }) });
    await second.start();
    expect(second.get('p')).toBeUndefined();
    expect(await second.getStatus('p')).toBeUndefined();
    expect(await readdir(inst)).toEqual([]);
    await second.close();
    expect(
      JSON.parse(
        await readFile(
          join(
            dir,
            'quarantine',
            (await readdir(join(dir, 'quarantine'))).find((n) => n.endsWith('.json')) ?? '',
          ),
          'utf8',
        ),
      ).id,
    ).toBe('p');
  });
});

describe('reading one record while running', () => {
  // In process, so only kinds that cannot hang a regression (the FIFO case runs in a child above).
  it('refuses a directory or a symlink put in place of a record', async () => {
    const dir = await tempDir();
    const registry = createRegistry({ machines, store: new FileStore({ dir }) });
    await registry.start();
    await registry.spawnSingleton('counter', 'x');
    await registry.close();
    const store = new FileStore({ dir });
    await store.open();
    const elsewhere = join(dir, 'elsewhere.json');
    await copyFile(store.pathOf('x'), elsewhere);
    await rm(store.pathOf('x'));
    await symlink(elsewhere, store.pathOf('x'));
    await expect(store.read('x')).rejects.toMatchObject({
      code: 'CORRUPT_RECORD',
      message: expect.stringMatching(/a symbolic link, not a regular file/),
    });
    await rm(store.pathOf('x'));
    await mkdir(store.pathOf('x'));
    await expect(store.read('x')).rejects.toMatchObject({
      code: 'CORRUPT_RECORD',
      message: expect.stringMatching(/a directory, not a regular file/),
    });
    await store.close();
  });
});

describe('instance IDs that are not well-formed Unicode', () => {
  // Two IDs with different lone surrogates encode to the same UTF-8 (U+FFFD), so a
  // store keyed by bytes would give both one record and lose one instance's state.
  it('are refused with INVALID_INSTANCE_ID before they can share a record with another ID', async () => {
    const dir = await tempDir();
    const registry = createRegistry({
      machines,
      store: new FileStore({ dir }),
      durability: 'strict',
    });
    await registry.start();
    for (const id of ['a\ud800', 'a\udc01', '\udfffb']) {
      await expect(registry.spawnSingleton('counter', id)).rejects.toMatchObject({
        code: 'INVALID_INSTANCE_ID',
      });
    }
    // A well-formed pair (an emoji) is one code point and stays a valid ID.
    await registry.spawnSingleton('counter', 'a\ud83d\ude00');
    await registry.send('a\ud83d\ude00', { type: 'INC' });
    await registry.close();
    const again = createRegistry({ machines, store: new FileStore({ dir }) });
    await again.start();
    expect((await again.getStatus('a\ud83d\ude00'))?.context).toMatchObject({ count: 1 });
    await again.close();
  });
});
