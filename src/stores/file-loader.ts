import { join, sep } from 'node:path';
import { RegistryError } from '../errors.js';
import { isInstanceFileName } from './file-name.js';
import { type FsLayer, nodeFs, readRegularFileSync } from './fs-layer.js';
import type { IoLimit } from './io-limit.js';
import { type StoredEntry, storeKey } from './store.js';

const LOAD_BATCH = 64;

/** What the reader shares with its {@link FileStore}. */
export interface FileLoaderDeps {
  fs: FsLayer;
  io: IoLimit;
  /** `<dir>/instances`. */
  instances: string;
  /** Files larger than this are refused before parsing. */
  maxFileBytes: number;
}

/**
 * A file store's read path: instance files read in batches at load, or one by
 * one, each turned into a record entry or an unreadable one that says why (too
 * large, not a regular file, an I/O error). Part of {@link FileStore}, which
 * checks it is open.
 *
 * @example
 * ```ts
 * const loader = new FileLoader({ fs: nodeFs, io: new IoLimit(32), instances, maxFileBytes });
 * for await (const batch of loader.batches(false)) for (const entry of batch) console.log(entry.key);
 * ```
 */
export class FileLoader {
  readonly #fs: FsLayer;
  readonly #io: IoLimit;
  readonly #instances: string;
  readonly #maxFileBytes: number;

  constructor(deps: FileLoaderDeps) {
    this.#fs = deps.fs;
    this.#io = deps.io;
    this.#instances = deps.instances;
    this.#maxFileBytes = deps.maxFileBytes;
  }

  /**
   * Every instance file's entry, in batches in name order; stray temporary
   * files of a crashed write are deleted on the way unless `readOnly`.
   */
  async *batches(readOnly: boolean): AsyncIterable<readonly StoredEntry[]> {
    const names = (await this.#fs.readdir(this.#instances)).sort();
    const files: string[] = [];
    for (const name of names) {
      if (name.startsWith('.tmp-')) {
        // A write that crashed before its rename: the old file (if any) is intact.
        // Read-only, it may be a live owner's write in progress: leave it.
        if (!readOnly) await this.#fs.unlink(join(this.#instances, name)).catch(() => {});
      } else if (isInstanceFileName(name)) {
        files.push(name);
      }
    }
    // Reads run in batches of LOAD_BATCH, each batch in one I/O slot, one file
    // after another: one promise and one slot per batch rather than per file
    // (the real layer reads synchronously), and never more than one descriptor.
    for (let i = 0; i < files.length; i += LOAD_BATCH) {
      const end = Math.min(i + LOAD_BATCH, files.length);
      const batch: StoredEntry[] = [];
      // The real layer is read without a promise per file; another layer (one
      // that injects faults) through its own readFile.
      if (this.#fs === nodeFs)
        await this.#io.run(async () => {
          for (let k = i; k < end; k++) batch.push(this.#readInSync(files[k] as string));
        });
      else
        await this.#io.run(async () => {
          for (let k = i; k < end; k++) batch.push(await this.#readIn(files[k] as string));
        });
      yield batch;
    }
  }

  /** Reads one instance file in an I/O slot. */
  read(name: string): Promise<StoredEntry> {
    return this.#io.run(() => this.#readIn(name));
  }

  /** Reads one instance file; the caller holds an I/O slot. */
  async #readIn(name: string): Promise<StoredEntry> {
    const path = this.#pathOfName(name);
    try {
      return {
        kind: 'record',
        key: storeKey(name),
        text: await this.#fs.readFile(path, this.#maxFileBytes),
      };
    } catch (error) {
      return this.#unreadable(name, path, error);
    }
  }

  /** {@link #readIn} through the real layer's synchronous read. */
  #readInSync(name: string): StoredEntry {
    const path = this.#pathOfName(name);
    try {
      return {
        kind: 'record',
        key: storeKey(name),
        text: readRegularFileSync(path, this.#maxFileBytes),
      };
    } catch (error) {
      return this.#unreadable(name, path, error);
    }
  }

  // Names are instance file names ([0-9a-z._-]): nothing for join() to normalise.
  #pathOfName(name: string): string {
    return `${this.#instances}${sep}${name}`;
  }

  /** The entry of a file that could not be read, saying why. */
  #unreadable(name: string, path: string, error: unknown): StoredEntry {
    const { code, size, kind } = error as { code?: string; size?: number; kind?: string };
    if (code === 'ENOTREG') {
      return {
        kind: 'unreadable',
        key: storeKey(name),
        error: new RegistryError(
          'CORRUPT_RECORD',
          `${path} is ${kind}, not a regular file; it was not read.`,
          { details: { path } },
        ),
      };
    }
    if (code !== 'EFBIG') return { kind: 'unreadable', key: storeKey(name), error };
    return {
      kind: 'unreadable',
      key: storeKey(name),
      error: new RegistryError(
        'SNAPSHOT_TOO_LARGE',
        `${path} is ${size} bytes, over maxFileBytes (${this.#maxFileBytes}); it was not read.`,
        { details: { path, bytes: size } },
      ),
    };
  }
}
