import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../src/index.js';
import { tempDir } from './helpers.js';
import { bundled } from './support/bundled.js';

/** lock-opener.ts compiled (see bundled): the rounds start dozens of them. */
let opener: string;
beforeAll(async () => {
  opener = await bundled(join(import.meta.dirname, 'support', 'lock-opener.ts'));
});
// CI's passes on other Node and XState versions run fewer (LOCK_ROUNDS=10); the first runs all.
const LOCK_ROUNDS = Number(process.env.LOCK_ROUNDS ?? 30);

/** A real process that opens a FileStore over `dir` when told to, answering line by line. */
class Opener {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #lines: string[] = [];
  readonly #waiting: Array<(line: string) => void> = [];
  readonly exited: Promise<void>;

  constructor(dir: string, hold = false) {
    this.child = spawn(process.execPath, [opener, dir, ...(hold ? ['hold'] : [])]);
    let stderr = '';
    this.child.stderr.on('data', (d) => {
      stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
    this.child.on('exit', (code, signal) => {
      for (const w of this.#waiting.splice(0)) w(`exited ${code ?? signal} ${stderr}`);
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const w = this.#waiting.shift();
      if (w) w(line);
      else this.#lines.push(line);
    });
    live.push(this);
  }

  next(): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.child.exitCode !== null || this.child.signalCode !== null)
      return Promise.resolve('exited');
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  tell(command: string): Promise<string> {
    this.child.stdin.write(`${command}\n`);
    return this.next();
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.child.kill(signal);
    await this.exited;
  }
}

let live: Opener[] = [];
afterEach(async () => {
  for (const o of live) o.child.kill('SIGKILL');
  await Promise.all(live.map((o) => o.exited));
  live = [];
});

/** A lock file as earlier versions wrote it: a pid, which says nothing once the process is gone. */
async function legacyLock(dir: string, pid: number): Promise<void> {
  await writeFile(
    join(dir, 'LOCK'),
    JSON.stringify({ pid, host: hostname(), token: `${pid}-old`, since: 'earlier' }),
  );
}

describe('FileStore lock: exactly one owner', () => {
  it(`8 processes opening one directory at the same instant, over ${LOCK_ROUNDS} rounds: one owner each round`, async () => {
    const dir = await tempDir();
    const N = 8;
    const openers = Array.from({ length: N }, () => new Opener(dir));
    for (let round = 0; round < LOCK_ROUNDS; round++) {
      // Round kinds: a free directory; a stale lock of an earlier version with a dead pid;
      // or (below) the previous owner was SIGKILLed, leaving its lock behind.
      if (round % 3 === 1) await legacyLock(dir, 2 ** 22 + 4321);
      const answers = await Promise.all(openers.map((o) => o.tell('open')));
      const owners = answers.flatMap((a, i) => (a === 'owner' ? [i] : []));
      expect({ round, owners: owners.length }).toEqual({ round, owners: 1 });
      expect(answers.filter((a) => a !== 'owner')).toEqual(
        new Array(N - 1).fill('locked STORE_LOCKED'),
      );
      const owner = owners[0] as number;
      if (round % 3 === 1) {
        await (openers[owner] as Opener).kill();
        openers[owner] = new Opener(dir);
      } else {
        expect(await (openers[owner] as Opener).tell('close')).toBe('closed');
      }
    }
  }, 240_000);

  it('recovers the lock of a SIGKILLed owner', async () => {
    const dir = await tempDir();
    const holder = new Opener(dir, true);
    expect(await holder.next()).toBe('owner');
    await holder.kill();
    const store = new FileStore({ dir });
    await store.open();
    await expect(new FileStore({ dir }).open()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    await store.close();
  }, 60_000);

  it('recovers a lock whose recorded pid is alive again (pid reuse, pid 1 in a container) but whose owner is gone', async () => {
    for (const pid of [process.pid, 1]) {
      const dir = await tempDir();
      await legacyLock(dir, pid);
      const store = new FileStore({ dir });
      await store.open();
      await store.close();
    }
    // The same for a lock of this version whose owner died: whatever pid it recorded.
    const dir = await tempDir();
    const holder = new Opener(dir, true);
    expect(await holder.next()).toBe('owner');
    await holder.kill();
    for (const name of await readdir(join(dir, 'LOCK'))) {
      if (name.endsWith('.json'))
        await writeFile(join(dir, 'LOCK', name), JSON.stringify({ pid: 1, host: hostname() }));
    }
    const store = new FileStore({ dir });
    await store.open();
    await store.close();
  }, 60_000);

  it('never displaces a stopped (SIGSTOP) owner: it is alive', async () => {
    const dir = await tempDir();
    const holder = new Opener(dir, true);
    expect(await holder.next()).toBe('owner');
    holder.child.kill('SIGSTOP');
    try {
      await expect(new FileStore({ dir }).open()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
      await expect(new FileStore({ dir }).open()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    } finally {
      holder.child.kill('SIGCONT');
    }
  }, 60_000);

  it('works for directory paths longer than a socket address allows', async () => {
    let dir = await tempDir();
    while (dir.length < 150) dir = join(dir, 'a-rather-long-directory-name');
    await mkdir(dir, { recursive: true });
    const store = new FileStore({ dir });
    await store.open();
    await expect(new FileStore({ dir }).open()).rejects.toMatchObject({ code: 'STORE_LOCKED' });
    const holder = new Opener(dir, true);
    expect(await holder.next()).toBe('locked STORE_LOCKED');
    await store.close();
    const again = new FileStore({ dir });
    await again.open();
    await again.close();
    expect((await stat(dir)).isDirectory()).toBe(true);
  }, 60_000);
});
