import { basename, dirname } from 'node:path';
import type { FileHandleLike, FsLayer } from '../../src/testing/index.js';

interface Inode {
  data: string;
  /** What survives a power cut: the content as of the last fsync of the file. */
  synced: string | undefined;
}

interface Dir {
  entries: Map<string, Inode>;
  /** What survives a power cut: the entries as of the last fsync of the directory. */
  durable: Map<string, Inode>;
}

class PowerCut extends Error {
  code = 'EIO';
  constructor() {
    super('simulated power cut');
  }
}

/**
 * An in-memory file system that models what a power cut keeps: file contents
 * only as of their last fsync, directory entries (creations, renames, unlinks)
 * only as of the directory's last fsync. `armAt(n)` makes the n-th operation
 * from now cut the power: it and everything after it fail, and `reboot()` then
 * returns a fresh view of what was durable. Fault injection only: the real
 * FileStore runs against real directories everywhere else.
 */
export class PowerCutFs {
  readonly #dirs = new Map<string, Dir>();
  #ops = 0;
  #cutAt = Number.POSITIVE_INFINITY;
  #down = false;
  /** Every operation, in order, for reporting which step a failure followed. */
  readonly log: string[] = [];

  armAt(n: number): void {
    this.#ops = 0;
    this.#cutAt = n;
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** Restores the durable state, as the machine comes back up; the dead process's LOCK is gone with it. */
  reboot(): void {
    for (const dir of this.#dirs.values()) {
      dir.entries = new Map(dir.durable);
      for (const inode of dir.entries.values()) inode.data = inode.synced ?? '';
    }
    for (const [path, dir] of this.#dirs) if (path.endsWith('/d')) dir.entries.delete('LOCK');
    for (const dir of this.#dirs.values()) dir.durable = new Map(dir.entries);
    this.#down = false;
    this.#cutAt = Number.POSITIVE_INFINITY;
  }

  #step(what: string): void {
    if (this.#down) throw new PowerCut();
    if (this.#ops++ === this.#cutAt) {
      this.#down = true;
      this.log.push(`CUT before ${what}`);
      throw new PowerCut();
    }
    this.log.push(what);
  }

  #dir(path: string): Dir {
    const dir = this.#dirs.get(path);
    if (!dir) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return dir;
  }

  #lookup(path: string): Inode {
    const inode = this.#dir(dirname(path)).entries.get(basename(path));
    if (!inode) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return inode;
  }

  /** The FsLayer the FileStore uses. */
  readonly layer: FsLayer = {
    mkdir: async (path) => {
      // Directory creation is made durable at once: the store creates its folders before anything matters.
      for (let p = path; p !== '/' && !this.#dirs.has(p); p = dirname(p))
        this.#dirs.set(p, { entries: new Map(), durable: new Map() });
    },
    readdir: async (path) => [...this.#dir(path).entries.keys()],
    readFile: async (path, maxBytes) => {
      const data = this.#lookup(path).data;
      const size = Buffer.byteLength(data);
      if (maxBytes !== undefined && size > maxBytes)
        throw Object.assign(new Error('EFBIG'), { code: 'EFBIG', size });
      return data;
    },
    open: async (path, flags): Promise<FileHandleLike> => {
      this.#step(`open ${basename(path)}`);
      const dir = this.#dir(dirname(path));
      if (flags === 'wx' && dir.entries.has(basename(path)))
        throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
      const inode: Inode = { data: '', synced: undefined };
      dir.entries.set(basename(path), inode);
      return {
        writeFile: async (data) => {
          this.#step(`write ${basename(path)}`);
          inode.data = data;
        },
        sync: async () => {
          this.#step(`fsync ${basename(path)}`);
          inode.synced = inode.data;
        },
        close: async () => {},
      };
    },
    rename: async (from, to) => {
      this.#step(`rename ${basename(from)} -> ${basename(to)}`);
      const inode = this.#lookup(from);
      this.#dir(dirname(from)).entries.delete(basename(from));
      this.#dir(dirname(to)).entries.set(basename(to), inode);
    },
    link: async (existing, newPath) => {
      this.#step(`link ${basename(existing)}`);
      const target = this.#dir(dirname(newPath));
      if (target.entries.has(basename(newPath)))
        throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
      target.entries.set(basename(newPath), this.#lookup(existing));
    },
    unlink: async (path) => {
      this.#step(`unlink ${basename(path)}`);
      this.#lookup(path);
      this.#dir(dirname(path)).entries.delete(basename(path));
    },
    syncDir: async (path) => {
      this.#step(`fsync dir ${basename(path)}`);
      const dir = this.#dir(path);
      dir.durable = new Map(dir.entries);
    },
    // A lock held in memory: it never survives a reboot, like a dead owner's socket.
    lock: async (path) => {
      const dir = this.#dir(path);
      if (dir.entries.has('LOCK'))
        throw Object.assign(new Error('locked'), { code: 'STORE_LOCKED' });
      const lock: Inode = { data: 'held', synced: undefined };
      dir.entries.set('LOCK', lock);
      return {
        release: async () => {
          if (dir.entries.get('LOCK') === lock) dir.entries.delete('LOCK');
        },
      };
    },
  };
}
