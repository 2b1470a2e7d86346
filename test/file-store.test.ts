import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AnyActorRef, assign, createMachine, SimulatedClock, setup } from 'xstate';
import {
  createRegistry,
  FileStore,
  type MachineMap,
  type Registry,
  type RegistryError,
} from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';
import { type FsLayer, nodeFs } from '../src/testing/index.js';
import { machines } from './fixtures.js';
import { tempDir } from './helpers.js';
import { storeContract } from './store-contract.js';

storeContract('FileStore', async () => {
  const dir = await tempDir();
  return { store: new FileStore({ dir }), again: () => new FileStore({ dir }) };
});

let open: Registry<any>[] = [];
afterEach(async () => {
  await Promise.allSettled(open.map((r) => r.close()));
  open = [];
});

function clockAt(ms = Date.UTC(2026, 0, 1)): SimulatedClock {
  const c = new SimulatedClock();
  c.set(ms);
  return c;
}

async function startOn<M extends MachineMap = typeof machines>(
  dir: string,
  extra: { machines?: M; clock?: SimulatedClock; fs?: FsLayer; [k: string]: unknown } = {},
) {
  const { fs, machines: ms, ...rest } = extra;
  const registry = createRegistry<M>({
    machines: (ms ?? machines) as M,
    store: new FileStore({ dir, ...(fs ? { fs } : {}) }),
    ...rest,
  });
  open.push(registry);
  const summary = await registry.start();
  return { registry, summary };
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

describe('FileStore file names', () => {
  it('gives every valid ID its own safe file inside dir', async () => {
    const dir = await tempDir();
    const { registry } = await startOn(dir);
    const ids = [
      '../../escape',
      '/abs/path',
      '.',
      '..',
      'CON',
      'con',
      'NUL.txt',
      'Job',
      'job',
      'caf\u00e9',
      'cafe\u0301',
      'a'.repeat(256),
      '語'.repeat(256),
      '🙂'.repeat(128),
      ' spaced ',
      'back\\slash',
    ];
    for (const id of ids) await registry.spawnSingleton('counter', id);
    await registry.flush();
    const files = await walk(dir);
    const instanceFiles = files.filter((f) => f.includes(`${join(dir, 'instances')}/`));
    expect(instanceFiles).toHaveLength(ids.length);
    for (const f of files) {
      expect(relative(dir, f).startsWith('..')).toBe(false);
      const name = f.split('/').pop() ?? '';
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    }
    // Case-insensitive file systems: names stay distinct after lower-casing.
    expect(new Set(instanceFiles.map((f) => f.toLowerCase())).size).toBe(ids.length);
    for (const id of ids)
      expect(JSON.parse(await readFile(join(dir, 'instances', fileNameFor(id)), 'utf8')).id).toBe(
        id,
      );
  });
});

describe('FileStore file names past its memory of recent names', () => {
  it('writes every ID to its own file after the remembered names were dropped', async () => {
    const store = new FileStore({ dir: await tempDir() });
    await store.open();
    try {
      // More IDs than the store remembers names of (1024), then rewrites of the first and last.
      const ids = Array.from({ length: 1100 }, (_, i) => `name-${i}`);
      await Promise.all(ids.map((id) => store.write(id, `"first ${id}"`)));
      const again = [...ids.slice(0, 20), ...ids.slice(-20)];
      await Promise.all(again.map((id) => store.write(id, `"second ${id}"`)));
      const names = (await readdir(join(store.dir, 'instances'))).filter((n) =>
        n.endsWith('.json'),
      );
      expect(names).toHaveLength(ids.length);
      for (const id of ids) {
        const want = again.includes(id) ? `"second ${id}"` : `"first ${id}"`;
        expect(await readFile(join(store.dir, 'instances', fileNameFor(id)), 'utf8')).toBe(want);
      }
    } finally {
      await store.close();
    }
  }, 60_000);
});

describe('FileStore file names are stable', () => {
  it('names the file of an ID exactly as every earlier version did (stored data stays findable)', () => {
    // Pinned: a change of name would leave every stored record behind as a stray.
    const pinned: Array<[string, string]> = [
      ['stored-1', '2a3858bab4d2b779d41ce6a92509a1c3-stored-1.json'],
      ['Tenant/42', '6d211b502ab0c8948c7249f3d1b0d6a7-tenant-42.json'],
      ['\u00c9COLE', 'f4b91a0d35c9854aba1ee1e0fc6105a5-e-cole.json'],
      ['e\u0301cole', 'e6f84e90543af63b8475c98c3cd203a6-e-cole.json'],
      ['\u00e9cole', 'f0f772e182a4941e6fdef31116540b17-e-cole.json'],
      ['..', '5ec1f7e700f37c3d0b2981d04855fc34.json'],
      ['-x-', 'c6cf95e52d1790f0147e3a44b7d9651c-x.json'],
      ['\ufb01le', 'e187bbaaef3ad3a1449313c5dcccb0ea-file.json'],
      ['\u65e5\u672c', 'cf2abf0c5be326cb922a70f8163f9107.json'],
      ['a'.repeat(100), `2816597888e4a0d3a36b82b83316ab32-${'a'.repeat(64)}.json`],
      ['MiXeD.Case_id-9', 'a11e1ded471b858e658cf98e337822c9-mixed.case_id-9.json'],
      [' spaced id ', '6d01a897294164c2ace71ea457c7021c-spaced-id.json'],
      ['tab\tid', '475fc43eb88530ce5a4c9540383cab80-tab-id.json'],
    ];
    expect(pinned.map(([id]) => [id, fileNameFor(id)])).toEqual(pinned);
  });
});

describe('FileStore format', () => {
  it('writes a readable, versioned envelope with the pending delayed events', async () => {
    const dir = await tempDir();
    const clock = clockAt();
    const { registry } = await startOn(dir, { clock });
    await registry.spawnSingleton('reminder', 'rem');
    await registry.flush();
    const record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('rem')), 'utf8'));
    expect(record).toMatchObject({
      format: 'xstate-registry/2',
      encoding: 'json',
      id: 'rem',
      type: 'reminder',
      machineVersion: 1,
      status: 'running',
      createdAt: Date.UTC(2026, 0, 1),
    });
    expect(record.snapshot.value).toBe('waiting');
    expect(
      record.timers
        .map((t: { event: { type: string }; dueAt: number }) => [
          t.event.type.split('.')[0],
          t.dueAt - Date.UTC(2026, 0, 1),
        ])
        .sort(),
    ).toEqual([
      ['PING', 2000],
      ['xstate', 1000],
    ]);
  });
});

describe('persisting every change', () => {
  const parent = setup({
    actors: {
      kid: createMachine({
        initial: 'a',
        states: { a: { on: { NEXT: 'b' } }, b: { after: { 100: 'c' } }, c: {} },
      }),
    },
  }).createMachine({ invoke: { id: 'kid', src: 'kid' } });

  it('persists child-only changes and changes sent straight to the actor', async () => {
    const dir = await tempDir();
    const clock = clockAt();
    const { registry } = await startOn(dir, { clock, machines: { parent } });
    const actor = await registry.spawnSingleton('parent', 'p');
    await registry.flush();
    const kid = (actor.getSnapshot().children as Record<string, AnyActorRef>).kid;
    kid?.send({ type: 'NEXT' }); // the root's subscribe would not fire for this
    await registry.flush();
    let record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('p')), 'utf8'));
    expect(record.snapshot.children.kid.snapshot.value).toBe('b');
    clock.increment(100);
    await registry.flush();
    record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('p')), 'utf8'));
    expect(record.snapshot.children.kid.snapshot.value).toBe('c');
  });

  it('coalesces a burst of 10,000 transitions into a few writes, latest state winning', async () => {
    const dir = await tempDir();
    let writes = 0;
    const counting: FsLayer = {
      ...nodeFs,
      rename: (a, b) => {
        writes++;
        return nodeFs.rename(a, b);
      },
    };
    const { registry } = await startOn(dir, { fs: counting });
    const actor = await registry.spawnSingleton('counter', 'c');
    for (let i = 0; i < 10_000; i++) actor.send({ type: 'INC' });
    await registry.flush();
    expect(writes).toBeLessThanOrEqual(3);
    const record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('c')), 'utf8'));
    expect(record.snapshot.context.count).toBe(10_000);
  });

  it('in strict mode, send resolves only once the new state is on disk', async () => {
    const dir = await tempDir();
    const { registry } = await startOn(dir, { durability: 'strict' });
    await registry.spawnSingleton('counter', 'c');
    for (let i = 1; i <= 5; i++) {
      await registry.send('c', { type: 'INC' });
      const record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('c')), 'utf8'));
      expect(record.snapshot.context.count).toBe(i);
    }
  });

  it('in strict mode, a flood waits for the store instead of queueing without bound', async () => {
    const dir = await tempDir();
    const { registry } = await startOn(dir, { durability: 'strict', maxPendingWrites: 4 });
    for (let i = 0; i < 20; i++) await registry.spawnSingleton('counter', `c${i}`);
    const sends = Array.from({ length: 200 }, (_, i) =>
      registry.send(`c${i % 20}`, { type: 'INC' }),
    );
    await Promise.all(sends);
    await registry.flush();
    const totals = await Promise.all(
      Array.from(
        { length: 20 },
        async (_, i) =>
          JSON.parse(await readFile(join(dir, 'instances', fileNameFor(`c${i}`)), 'utf8')).snapshot
            .context.count,
      ),
    );
    expect(totals.reduce((a, b) => a + b, 0)).toBe(200);
  });
});

describe('one owner per directory', () => {
  it('a second registry on the same dir fails with STORE_LOCKED; after close it may start', async () => {
    const dir = await tempDir();
    const { registry } = await startOn(dir);
    const second = createRegistry({ machines, store: new FileStore({ dir }) });
    await expect(second.start()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await registry.close();
    const third = createRegistry({ machines, store: new FileStore({ dir }) });
    open.push(third);
    await third.start();
  });

  it('recovers the lock of a process that is gone', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'LOCK'),
      JSON.stringify({
        pid: 2 ** 22 + 12345,
        host: (await import('node:os')).hostname(),
        token: 'dead',
        since: 'earlier',
      }),
    );
    const { registry } = await startOn(dir);
    await registry.spawnSingleton('counter', 'c');
  });
});

describe('bad files are quarantined, the rest start', () => {
  it('corrupt, truncated, empty, wrong-format, unknown-type, unrestorable, oversized and unreadable files', async () => {
    const dir = await tempDir();
    const clock = clockAt();
    const first = await startOn(dir, { clock });
    await first.registry.spawnSingleton('counter', 'good');
    await first.registry.spawnSingleton('counter', 'victim');
    await first.registry.close();
    const inst = join(dir, 'instances');
    const goodText = await readFile(join(inst, fileNameFor('good')), 'utf8');
    const bad: Record<string, string> = {
      corrupt: '{not json',
      truncated: goodText.slice(0, goodText.length / 2),
      empty: '',
      wrongFormat: JSON.stringify({
        ...JSON.parse(goodText),
        id: 'wrongFormat',
        format: 'other/9',
      }),
      unknownType: JSON.stringify({ ...JSON.parse(goodText), id: 'unknownType', type: 'gone' }),
      unrestorable: JSON.stringify({
        ...JSON.parse(goodText),
        id: 'unrestorable',
        snapshot: { status: 'active', value: 'no-such-state', context: {}, children: {} },
      }),
      oversized: JSON.stringify({
        ...JSON.parse(goodText),
        id: 'oversized',
        pad: 'x'.repeat(5000),
      }),
      unreadable: goodText.replace('"good"', '"unreadable"'),
    };
    for (const [id, text] of Object.entries(bad))
      await writeFile(join(inst, fileNameFor(id)), text);
    const failingRead: FsLayer = {
      ...nodeFs,
      readFile: (p, m) =>
        p.endsWith(fileNameFor('unreadable'))
          ? Promise.reject(
              Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }),
            )
          : nodeFs.readFile(p, m),
    };
    const store = new FileStore({ dir, fs: failingRead, maxFileBytes: 4000 });
    const registry = createRegistry({ machines, store, clock });
    open.push(registry);
    const quarantined = vi.fn();
    registry.on('quarantined', quarantined);
    const summary = await registry.start();
    expect(summary.restored).toBe(2);
    expect(summary.quarantined).toHaveLength(Object.keys(bad).length);
    expect(quarantined).toHaveBeenCalledTimes(Object.keys(bad).length);
    const codes = Object.fromEntries(summary.quarantined.map((q) => [q.key, q.code]));
    expect(codes[fileNameFor('unknownType')]).toBe('UNKNOWN_MACHINE');
    expect(codes[fileNameFor('unrestorable')]).toBe('RESTORE_FAILED');
    expect(codes[fileNameFor('oversized')]).toBe('SNAPSHOT_TOO_LARGE');
    expect(codes[fileNameFor('corrupt')]).toBe('CORRUPT_RECORD');
    expect(codes[fileNameFor('unreadable')]).toBe('CORRUPT_RECORD');
    expect(registry.get('good')).toBeDefined();
    expect(registry.get('victim')).toBeDefined();
    // Moved aside, never deleted: each bad file is in quarantine/ with its reason.
    const aside = await readdir(join(dir, 'quarantine'));
    expect(aside.filter((n) => n.endsWith('.json'))).toHaveLength(Object.keys(bad).length);
    expect(aside.filter((n) => n.endsWith('.reason.txt'))).toHaveLength(Object.keys(bad).length);
    const corruptAside = aside.find(
      (n) => n.startsWith(fileNameFor('corrupt').replace('.json', '')) && n.endsWith('.json'),
    );
    expect(await readFile(join(dir, 'quarantine', corruptAside ?? ''), 'utf8')).toBe('{not json');
    expect((await readdir(inst)).sort()).toEqual(
      [fileNameFor('good'), fileNameFor('victim')].sort(),
    );
  });

  it('never lets a stored __proto__ re-parent the context', async () => {
    const dir = await tempDir();
    const polluter = setup({ types: { context: {} as Record<string, unknown> } }).createMachine({
      context: {},
      on: { SET: { actions: assign({ touched: true }) } },
    });
    const first = await startOn(dir, { machines: { polluter } });
    await first.registry.spawnSingleton('polluter', 'p');
    await first.registry.close();
    const file = join(dir, 'instances', fileNameFor('p'));
    const record = JSON.parse(await readFile(file, 'utf8'));
    const text = JSON.stringify(record).replace(
      '"context":{}',
      '"context":{"__proto__":{"isAdmin":true}}',
    );
    expect(text).toContain('__proto__');
    await writeFile(file, text);
    const { registry } = await startOn(dir, { machines: { polluter } });
    await registry.send('p', { type: 'SET' });
    const context = registry.get('p')?.getSnapshot().context as Record<string, unknown>;
    expect(context.touched).toBe(true);
    expect(context.isAdmin).toBeUndefined();
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});

describe('oversized and unserialisable state', () => {
  it('is refused before writing, reported, and the actor keeps running', async () => {
    const dir = await tempDir();
    const big = setup({ types: { context: {} as { blob: string; n: unknown } } }).createMachine({
      context: { blob: '', n: 0 },
      on: {
        GROW: { actions: assign({ blob: 'x'.repeat(10_000) }) },
        // A BigInt is stored exactly now; a function is what cannot be.
        FUNCTION: { actions: assign({ n: () => () => {} }) },
        SHRINK: { actions: assign({ blob: '', n: 0 }) },
      },
    });
    const { registry } = await startOn(dir, { machines: { big }, maxRecordBytes: 5000 });
    const errors: RegistryError[] = [];
    registry.on('error', (e) => errors.push(e));
    await registry.spawnSingleton('big', 'b');
    await registry.flush();
    await registry.send('b', { type: 'GROW' });
    await expect(registry.flush()).rejects.toMatchObject({ code: 'SNAPSHOT_TOO_LARGE' });
    await registry.send('b', { type: 'SHRINK' });
    await registry.send('b', { type: 'FUNCTION' });
    await expect(registry.flush()).rejects.toMatchObject({ code: 'NOT_SERIALIZABLE' });
    expect([...new Set(errors.map((e) => e.code))]).toEqual([
      'SNAPSHOT_TOO_LARGE',
      'NOT_SERIALIZABLE',
    ]);
    await registry.send('b', { type: 'SHRINK' });
    await registry.flush();
    const record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('b')), 'utf8'));
    expect(record.snapshot.context).toEqual({ blob: '', n: 0 });
    expect((await stat(join(dir, 'instances', fileNameFor('b')))).size).toBeLessThan(5000);
  });
});

describe('machine versions and migrations', () => {
  const v1 = setup({ types: { context: {} as { name: string } } }).createMachine({
    context: { name: 'Ada' },
    initial: 'on',
    states: { on: {} },
  });
  const v2 = setup({ types: { context: {} as { first: string; last: string } } }).createMachine({
    context: { first: '', last: '' },
    initial: 'on',
    states: { on: {} },
  });

  it('records the version, migrates older snapshots at load, quarantines what cannot be migrated', async () => {
    const dir = await tempDir();
    const first = await startOn(dir, { machines: { person: { machine: v1, version: 1 } } });
    await first.registry.spawnSingleton('person', 'ada');
    await first.registry.spawnSingleton('person', 'bad');
    await first.registry.close();
    const migrate = vi.fn((snapshot: { context: { name: string } }, from: number) => {
      if (snapshot.context.name === 'Ada' && from === 1)
        return { ...snapshot, context: { first: 'Ada', last: '' } };
      throw new Error('cannot');
    });
    // 'bad' gets an unmigratable name
    const badFile = join(dir, 'instances', fileNameFor('bad'));
    await writeFile(badFile, (await readFile(badFile, 'utf8')).replace('"Ada"', '"???"'));
    const { registry, summary } = await startOn(dir, {
      machines: { person: { machine: v2, version: 2, migrate } },
    });
    expect(summary.migrated).toBe(1);
    expect(summary.quarantined.map((q) => [q.id, q.code])).toEqual([['bad', 'MIGRATION_FAILED']]);
    expect(registry.get('ada')?.getSnapshot().context).toEqual({ first: 'Ada', last: '' });
    await registry.flush();
    const record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('ada')), 'utf8'));
    expect(record.machineVersion).toBe(2);
    expect(record.snapshot.context.first).toBe('Ada');
  });

  it('quarantines records written by a newer version than the registered one', async () => {
    const dir = await tempDir();
    const first = await startOn(dir, { machines: { person: { machine: v2, version: 3 } } });
    await first.registry.spawnSingleton('person', 'future');
    await first.registry.close();
    const { summary } = await startOn(dir, { machines: { person: { machine: v2, version: 2 } } });
    expect(summary.quarantined.map((q) => q.code)).toEqual(['MIGRATION_FAILED']);
  });
});

describe('write faults', () => {
  for (const code of ['ENOSPC', 'EIO', 'EACCES']) {
    it(`${code}: reported, flush rejects, the actor keeps running, nothing acknowledged is lost`, async () => {
      const dir = await tempDir();
      let failing = false;
      const faulty: FsLayer = {
        ...nodeFs,
        open: async (p, flags) => {
          const h = await nodeFs.open(p, flags);
          return {
            ...h,
            writeFile: (d) =>
              failing
                ? Promise.reject(Object.assign(new Error(`${code}: injected`), { code }))
                : h.writeFile(d),
          };
        },
      };
      const { registry } = await startOn(dir, { fs: faulty });
      const errors: RegistryError[] = [];
      registry.on('error', (e) => errors.push(e));
      const actor = await registry.spawnSingleton('counter', 'c');
      await registry.send('c', { type: 'INC' });
      await registry.flush(); // acknowledged: count 1
      failing = true;
      await registry.send('c', { type: 'INC' });
      await expect(registry.flush()).rejects.toMatchObject({ code: 'PERSIST_FAILED' });
      expect(errors[0]).toMatchObject({
        code: 'PERSIST_FAILED',
        cause: expect.objectContaining({ code }),
      });
      await registry.send('c', { type: 'INC' });
      expect(actor.getSnapshot().context.count).toBe(3);
      let record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('c')), 'utf8'));
      expect(record.snapshot.context.count).toBe(1); // the acknowledged state is intact
      failing = false;
      await registry.flush();
      record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('c')), 'utf8'));
      expect(record.snapshot.context.count).toBe(3);
      // Failed attempts cleaned up their temporary files.
      expect((await readdir(join(dir, 'instances'))).filter((n) => n.startsWith('.tmp-'))).toEqual(
        [],
      );
    });
  }

  it('retries by itself once the fault clears', async () => {
    const dir = await tempDir();
    let failures = 2;
    const faulty: FsLayer = {
      ...nodeFs,
      rename: (a, b) =>
        failures-- > 0
          ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' }))
          : nodeFs.rename(a, b),
    };
    const { registry } = await startOn(dir, { fs: faulty });
    const errors: RegistryError[] = [];
    registry.on('error', (e) => errors.push(e));
    await registry.spawnSingleton('counter', 'c');
    await vi.waitFor(
      async () => {
        const record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('c')), 'utf8'));
        expect(record.id).toBe('c');
      },
      { timeout: 5000 },
    );
    expect(errors.length).toBe(2);
  });
});
