import { hostname } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from '../errors.js';
import type { FsLayer } from './fs-layer.js';

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string')
      return o as LockOwner;
  } catch {}
  return undefined;
}

/**
 * One owner per directory: a `LOCK` file created exclusively, holding the owner's
 * pid, host and a random token. A lock whose process is gone (killed, crashed) on
 * this host is recovered: it is renamed aside first, and recovery backs off if
 * what it moved turns out not to be the stale lock it examined, so two processes
 * recovering at once cannot both win.
 */
export class FileLock {
  readonly #fs: FsLayer;
  readonly #dir: string;
  readonly #path: string;
  #token: string | undefined;

  constructor(fs: FsLayer, dir: string) {
    this.#fs = fs;
    this.#dir = dir;
    this.#path = join(dir, 'LOCK');
  }

  async acquire(): Promise<void> {
    const me: LockOwner = {
      pid: process.pid,
      host: hostname(),
      token: `${process.pid}-${Math.random().toString(36).slice(2)}`,
      since: new Date().toISOString(),
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const handle = await this.#fs.open(this.#path, 'wx');
        try {
          await handle.writeFile(JSON.stringify(me));
          await handle.sync();
        } finally {
          await handle.close();
        }
        await this.#fs.syncDir(this.#dir);
        this.#token = me.token;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const seen = await this.#fs.readFile(this.#path).catch(() => undefined);
      if (seen === undefined) continue; // released meanwhile: try again
      const owner = parseOwner(seen);
      if (owner && (owner.host !== hostname() || alive(owner.pid))) {
        throw new RegistryError(
          'STORE_LOCKED',
          `The directory ${this.#dir} is in use by process ${owner.pid} on ${owner.host} (since ${owner.since}). Only one registry may own a store; stop that process${owner.host !== hostname() ? ', or delete LOCK if you are sure it is gone' : ''}.`,
          { details: { dir: this.#dir, pid: owner.pid, host: owner.host } },
        );
      }
      await this.#recover(seen);
    }
    throw new RegistryError(
      'STORE_LOCKED',
      `Could not take the lock of ${this.#dir}: another process keeps taking it.`,
      { details: { dir: this.#dir } },
    );
  }

  async #recover(staleText: string): Promise<void> {
    const aside = `${this.#path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await this.#fs.rename(this.#path, aside);
    } catch {
      return; // someone else moved it first
    }
    const moved = await this.#fs.readFile(aside).catch(() => undefined);
    if (moved !== staleText) {
      // We moved a fresh lock taken by another recoverer: give it back untouched.
      await this.#fs.link(aside, this.#path).catch(() => {});
    }
    await this.#fs.unlink(aside).catch(() => {});
  }

  async release(): Promise<void> {
    if (!this.#token) return;
    const text = await this.#fs.readFile(this.#path).catch(() => undefined);
    if (text && parseOwner(text)?.token === this.#token)
      await this.#fs.unlink(this.#path).catch(() => {});
    this.#token = undefined;
  }
}
