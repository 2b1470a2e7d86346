import * as fsp from 'node:fs/promises';

/** The part of an open file the file store uses. */
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
 */
export interface FsLayer {
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<string>;
  /** Size in bytes. */
  size(path: string): Promise<number>;
  /** Opens for writing: `'wx'` fails if the file exists, `'w'` truncates. */
  open(path: string, flags: 'w' | 'wx'): Promise<FileHandleLike>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory, so that renames and unlinks in it survive a power cut. */
  syncDir(path: string): Promise<void>;
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
  readFile: (path) => fsp.readFile(path, 'utf8'),
  size: async (path) => (await fsp.stat(path)).size,
  open: async (path, flags) => {
    const handle = await fsp.open(path, flags, 0o644);
    return {
      writeFile: (data) => handle.writeFile(data, 'utf8'),
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  rename: (from, to) => fsp.rename(from, to),
  link: (existing, newPath) => fsp.link(existing, newPath),
  unlink: (path) => fsp.unlink(path),
  syncDir: async (path) => {
    const handle = await fsp.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};
