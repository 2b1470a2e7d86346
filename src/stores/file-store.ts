import { join, resolve, sep } from 'node:path';
import { RegistryError } from '../errors.js';
import { FileLoader } from './file-loader.js';
import type { DirLock } from './file-lock.js';
import { fileNameFor } from './file-name.js';
import { FileQuarantine } from './file-quarantine.js';
import { type FsLayer, nodeFs } from './fs-layer.js';
import { GroupSync } from './group-sync.js';
import { IoLimit } from './io-limit.js';
import {
  type BatchedEntries,
  type SetAsidePage,
  type SetAsideQuery,
  type Store,
  type StoredEntry,
  type StoreKey,
  storeKey,
} from './store.js';

/** How many instances' file names the write path remembers (about 200 bytes each). */
const NAMES_KEPT = 1024;

/**
 * The options of {@link FileStore}.
 *
 * @example
 * ```ts
 * new FileStore({ dir: './data', maxFileBytes: 8 * 1024 * 1024 });
 * ```
 */
export interface FileStoreOptions {
  /** The directory that holds everything: `instances/`, `quarantine/` and `LOCK`. Created if missing. */
  dir: string;
  /** Files larger than this are refused before parsing. Default 64 MiB. */
  maxFileBytes?: number;
  /**
   * At most this many file operations at once (each holds at most one
   * descriptor); the rest queue. Keeps a burst of writes (thousands of new
   * instances at close) within the process's descriptor limit. Default 32.
   */
  maxConcurrentIo?: number;
  /** The file-system layer; tests inject faults through it. Default: Node's fs. */
  fs?: FsLayer;
}

/**
 * Keeps one human-readable JSON file per instance under `dir/instances/`.
 *
 * Every write is atomic and durable: the text goes to a temporary file in the
 * same directory, which is fsynced, renamed over the old file, and the directory
 * is fsynced. A crash at any moment leaves the old version or the new one, never
 * a torn or empty file. Directory fsyncs of concurrent writes are shared (group
 * commit), so many actors writing at once pay for one.
 *
 * @example
 * ```ts
 * import { createRegistry, FileStore } from 'xstate-registry';
 * const registry = createRegistry({ machines, store: new FileStore({ dir: './data' }) });
 * await registry.start(); // STORE_LOCKED if another process owns ./data
 * ```
 */
export class FileStore implements Store {
  readonly dir: string;
  readonly #instances: string;
  readonly #quarantine: string;
  readonly #fs: FsLayer;
  readonly #maxFileBytes: number;
  /** The registry writes no record larger than it reads back: `maxFileBytes`. */
  get maxRecordBytes(): number {
    return this.#maxFileBytes;
  }
  readonly #io: IoLimit;
  #lock: DirLock | undefined;
  #open = false;
  #readOnly = false;
  #repairing: Promise<void> | undefined;
  readonly #damageListeners = new Set<(error: RegistryError) => void>();
  readonly #dirSync: GroupSync;
  readonly #setAside: FileQuarantine;
  readonly #loader: FileLoader;
  /**
   * File names of recently written IDs: naming (a SHA-256 and a slug) was a
   * tenth of a write's main-thread work. Bounded: emptied when full, so it
   * never grows with the number of instances.
   */
  readonly #names = new Map<string, string>();

  constructor(options: FileStoreOptions) {
    if (!options || typeof options.dir !== 'string' || options.dir === '') {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        'FileStore needs { dir }: the directory to keep instances in.',
      );
    }
    this.dir = resolve(options.dir);
    this.#instances = join(this.dir, 'instances');
    this.#quarantine = join(this.dir, 'quarantine');
    this.#fs = options.fs ?? nodeFs;
    this.#maxFileBytes = options.maxFileBytes ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(this.#maxFileBytes) || this.#maxFileBytes < 1) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        'FileStore maxFileBytes must be a positive integer (the largest record file it reads, in bytes).',
        { details: { maxFileBytes: this.#maxFileBytes } },
      );
    }
    const io = options.maxConcurrentIo ?? 32;
    if (!Number.isInteger(io) || io < 1) {
      throw new RegistryError(
        'INVALID_ARGUMENT',
        'FileStore maxConcurrentIo must be a positive integer (the most file operations at once).',
      );
    }
    this.#io = new IoLimit(io);
    this.#dirSync = new GroupSync(() => this.#io.run(() => this.#fs.syncDir(this.#instances)));
    this.#setAside = new FileQuarantine({
      fs: this.#fs,
      io: this.#io,
      instances: this.#instances,
      quarantine: this.#quarantine,
      maxFileBytes: this.#maxFileBytes,
      dirSync: this.#dirSync,
    });
    this.#loader = new FileLoader({
      fs: this.#fs,
      io: this.#io,
      instances: this.#instances,
      maxFileBytes: this.#maxFileBytes,
    });
  }

  /** The key (file name) under which `load()` yields the record of `id`; any other name holding it is a stray. */
  keyOf(id: string): StoreKey {
    return storeKey(fileNameFor(id));
  }

  /** The path of the file that holds instance `id` (whether or not it exists). */
  pathOf(id: string): string {
    return join(this.#instances, fileNameFor(id));
  }

  async open(): Promise<void> {
    try {
      await this.#fs.mkdir(this.#instances);
      await this.#fs.mkdir(this.#quarantine);
      this.#lock = await this.#fs.lock(this.dir);
    } catch (cause) {
      throw this.#openFailed(cause);
    }
    this.#open = true;
  }

  /** A failed open as a coded error (start() rejected with ENOTDIR or EACCES, no code). */
  #openFailed(cause: unknown): unknown {
    if (cause instanceof RegistryError) return cause;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = cause instanceof Error ? cause.message : String(cause);
    // Something else than a directory where one belongs: the option names a wrong place.
    if (code === 'ENOTDIR' || code === 'EEXIST')
      return new RegistryError(
        'INVALID_ARGUMENT',
        `FileStore cannot use '${this.dir}': it, or its instances/ or quarantine/, is not a directory (${reason}). Name a directory of its own (it is created if missing).`,
        { cause, details: { dir: this.dir } },
      );
    return new RegistryError(
      'PERSIST_FAILED',
      `FileStore could not open '${this.dir}' (${reason}); check that this process may create and write files there.`,
      { cause },
    );
  }

  /**
   * Opens for reading only, without taking the lock, so that a tool can look
   * into a directory a live process owns: `load`, `read` and `listSetAside`
   * work; every change is refused with `STORE_LOCKED`. What it reads is each
   * file as of its last atomic write.
   */
  async openReadOnly(): Promise<void> {
    this.#open = true;
    this.#readOnly = true;
  }

  /** Every instance file's entry; `start()` reads them a batch of up to 64 at a time. */
  load(): AsyncIterable<StoredEntry> {
    const batches = () => this.#batches();
    const entries: BatchedEntries = {
      batches,
      async *[Symbol.asyncIterator]() {
        for await (const batch of batches()) yield* batch;
      },
    };
    return entries;
  }

  async *#batches(): AsyncIterable<readonly StoredEntry[]> {
    this.#assertOpen();
    yield* this.#loader.batches(this.#readOnly);
  }

  async read(id: string): Promise<string | undefined> {
    this.#assertOpen();
    // The same checks as at load: a FIFO or a symlink put in its place is refused, unread.
    const entry = await this.#loader.read(fileNameFor(id));
    if (entry.kind === 'record') return entry.text;
    if ((entry.error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw entry.error;
  }

  async write(id: string, text: string): Promise<void> {
    this.#assertWritable();
    // One name per write (hashing the ID is most of what naming costs); both are
    // [0-9a-z._-] names, with nothing for join() to normalise.
    let name = this.#names.get(id);
    if (name === undefined) {
      if (this.#names.size >= NAMES_KEPT) this.#names.clear();
      name = fileNameFor(id);
      this.#names.set(id, name);
    }
    const target = `${this.#instances}${sep}${name}`;
    const tmp = `${this.#instances}${sep}.tmp-${name.slice(0, 32)}-${Math.random().toString(36).slice(2)}`;
    const once = () =>
      this.#io.run(async () => {
        try {
          const handle = await this.#fs.open(tmp, 'wx');
          try {
            await handle.writeFile(text);
            await handle.sync();
          } finally {
            await handle.close();
          }
          await this.#fs.rename(tmp, target);
        } catch (err) {
          await this.#fs.unlink(tmp).catch(() => {});
          throw err;
        }
      });
    try {
      await once();
    } catch (err) {
      // ENOENT creating a file in instances/: the directory itself is gone.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.#repair();
      await once();
    }
    // Outside the slot: the shared directory sync takes a slot of its own.
    await this.#dirSync.run();
  }

  async remove(id: string): Promise<void> {
    this.#assertWritable();
    try {
      await this.#io.run(() => this.#fs.unlink(this.pathOf(id)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await this.#dirSync.run();
  }

  async quarantine(key: string, reason: string): Promise<void> {
    this.#assertWritable();
    await this.#io.run(() => this.#setAside.moveAside(key, reason));
    await this.#dirSync.run();
  }

  async listSetAside(query?: SetAsideQuery): Promise<SetAsidePage> {
    this.#assertOpen();
    return this.#setAside.list(query);
  }

  async restoreSetAside(key: string): Promise<void> {
    this.#assertWritable();
    await this.#setAside.restore(key);
  }

  /**
   * Listens for damage the store repaired but cannot make good alone: today,
   * `instances/` deleted while running, recreated empty. The listener (the
   * registry) rewrites what it holds. Returns a function that stops listening.
   */
  onDamaged(listener: (error: RegistryError) => void): () => void {
    this.#damageListeners.add(listener);
    return () => this.#damageListeners.delete(listener);
  }

  /** Recreates `instances/` (and `quarantine/`) if missing, and says so; concurrent callers share one repair. */
  #repair(): Promise<void> {
    this.#repairing ??= (async () => {
      try {
        await this.#fs.readdir(this.#instances);
        return; // there after all (another write repaired it)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      await this.#fs.mkdir(this.#instances);
      await this.#fs.mkdir(this.#quarantine);
      const error = new RegistryError(
        'STORE_REPAIRED',
        `${this.#instances} had disappeared while the store was open (deleted from outside) and was created again, empty; every instance held in memory is written again. Find out what deletes it.`,
        { details: { dir: this.dir } },
      );
      for (const listener of this.#damageListeners) listener(error);
    })().finally(() => {
      this.#repairing = undefined;
    });
    return this.#repairing;
  }

  async close(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#readOnly = false;
    await this.#lock?.release();
    this.#lock = undefined;
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.#readOnly)
      throw new RegistryError(
        'STORE_LOCKED',
        `The FileStore at ${this.dir} is open read-only; open it (with its lock) to change it.`,
        { details: { dir: this.dir } },
      );
  }

  #assertOpen(): void {
    if (!this.#open)
      throw new RegistryError(
        'STORE_CLOSED',
        `The FileStore at ${this.dir} is not open; start a registry over it first.`,
      );
  }
}
