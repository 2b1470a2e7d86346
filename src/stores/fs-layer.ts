import { isUtf8 } from 'node:buffer';
import {
  close,
  closeSync,
  constants,
  fstatSync,
  fsync,
  open,
  openSync,
  readFileSync,
  rename,
  type Stats,
  writeFile,
} from 'node:fs';
import * as fsp from 'node:fs/promises';
import { acquireDirLock, type DirLock } from './file-lock.js';

/**
 * The part of an open file the file store uses.
 *
 * @example
 * ```ts
 * const handle: FileHandleLike = await nodeFs.open(path, 'wx');
 * await handle.writeFile(text);
 * await handle.sync();
 * await handle.close();
 * ```
 */
export interface FileHandleLike {
  writeFile(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file-system operations the file store performs, and nothing more. The
 * default is Node's `fs/promises`; tests substitute a layer that injects faults
 * (ENOSPC, EIO, EACCES) or simulates a power cut that loses whatever was not
 * fsynced, which is how crash safety is tested beyond what SIGKILL can show.
 *
 * @example
 * ```ts
 * const full: FsLayer = { ...nodeFs, open: async () => { throw Object.assign(new Error('no space'), { code: 'ENOSPC' }); } };
 * new FileStore({ dir, fs: full });
 * ```
 */
export interface FsLayer {
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /**
   * The names in a directory one at a time, without holding them all (for
   * directories that may be huge, such as `quarantine/`). Optional: without
   * it, `readdir` is used.
   */
  scanDir?(path: string): AsyncIterable<string>;
  /**
   * Reads a whole file as UTF-8. With `maxBytes`, a larger file is not read:
   * the call rejects with an error whose `code` is `'EFBIG'` and `size` its size.
   * Only a regular file is read: a symlink is not followed, and a directory, FIFO,
   * socket or device is refused (without blocking) with `code` `'ENOTREG'` and `kind`.
   * Bytes that are not UTF-8 reject with `code` `'EILSEQ'`, unless `lenient`
   * (then each reads as U+FFFD: for showing a set-aside file, never for loading one).
   */
  readFile(path: string, maxBytes?: number, lenient?: boolean): Promise<string>;
  /** Opens for writing: `'wx'` fails if the file exists, `'w'` truncates. */
  open(path: string, flags: 'w' | 'wx'): Promise<FileHandleLike>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory, so that renames and unlinks in it survive a power cut. */
  syncDir(path: string): Promise<void>;
  /**
   * Takes the exclusive lock of a store directory (rejects with `STORE_LOCKED`
   * if a live process holds it). The real one is {@link acquireDirLock}.
   */
  lock(dir: string): Promise<DirLock>;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'a special file';
}

/** The error `readFile` rejects with for anything but a regular file: `code` `'ENOTREG'`, `kind` what it is. */
function notRegular(path: string, kind: string): Error {
  return Object.assign(new Error(`${path} is ${kind}, not a regular file`), {
    code: 'ENOTREG',
    kind,
  });
}

/**
 * Opens `path` as a {@link FileHandleLike} over a plain descriptor and fs
 * callbacks. Its methods are own properties: wrappers spread it (`{ ...h }`).
 */
function openFd(path: string, flags: 'w' | 'wx' | 'r'): Promise<FileHandleLike> {
  return new Promise((resolve, reject) =>
    open(path, flags, 0o644, (err, fd) => {
      if (err) return reject(err);
      resolve({
        // writeFile on a descriptor writes it all, looping over short writes.
        writeFile: (data) => settle((done) => writeFile(fd, data, done)),
        sync: () => settle((done) => fsync(fd, done)),
        close: () => settle((done) => close(fd, done)),
      });
    }),
  );
}

/** A promise over one fs callback call. */
function settle(call: (done: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
}

/**
 * The real file system.
 *
 * @example
 * ```ts
 * new FileStore({ dir: './data', fs: nodeFs }); // the default
 * ```
 */
export const nodeFs: FsLayer = {
  mkdir: async (path) => {
    await fsp.mkdir(path, { recursive: true });
  },
  readdir: (path) => fsp.readdir(path),
  scanDir: async function* (path) {
    // opendir reads the directory in small batches (32 entries by default).
    for await (const entry of await fsp.opendir(path)) yield entry.name;
  },
  // Reads are synchronous: they happen at start() (thousands of small files, where
  // fs/promises spends most of its time hopping through libuv's thread pool, 10x
  // slower) and one at a time on activation. The store yields between batches.
  readFile: async (path, maxBytes, lenient) => readRegularFileSync(path, maxBytes, lenient),
  // Writes use plain descriptors and fs callbacks: a FileHandle (open, writeFile,
  // sync, close) costs several times more main-thread work per record written.
  open: (path, flags) => openFd(path, flags),
  rename: (from, to) => settle((done) => rename(from, to, done)),
  link: (existing, newPath) => fsp.link(existing, newPath),
  unlink: (path) => fsp.unlink(path),
  syncDir: async (path) => {
    const handle = await openFd(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  lock: acquireDirLock,
};

/**
 * What the real layer's `readFile` does, synchronously: reads a regular file
 * as UTF-8, never following a symlink nor waiting on a FIFO, and refuses one
 * over `maxBytes` (`EFBIG`) or that is not a regular file (`ENOTREG`). The file
 * store calls it directly at `start()` when its layer is {@link nodeFs}: a
 * promise and two awaits per file (about 800 B of garbage per record) are avoided.
 *
 * @example
 * ```ts
 * const text = readRegularFileSync('/data/instances/x.json', 64 * 1024 * 1024);
 * ```
 */
export function readRegularFileSync(path: string, maxBytes?: number, lenient = false): string {
  let fd: number;
  try {
    // Never follow a symlink (it may point at a device), never wait on a FIFO.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw notRegular(path, 'a symbolic link');
    throw err;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegular(path, kindOf(stats));
    const { size } = stats;
    if (maxBytes !== undefined && size > maxBytes) {
      throw Object.assign(new Error(`${path} is ${size} bytes, over ${maxBytes}`), {
        code: 'EFBIG',
        size,
      });
    }
    const bytes = readFileSync(fd);
    // Decoded leniently, a damaged byte would load as U+FFFD, and the next write
    // would make the change permanent: refused, so the record is set aside.
    if (!lenient && !isUtf8(bytes))
      throw Object.assign(new Error(`${path} is not valid UTF-8`), { code: 'EILSEQ' });
    return bytes.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
