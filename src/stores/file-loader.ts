import { join, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RegistryError } from '../errors.js';
import { isInstanceFileName } from './file-name.js';
import { errorOf, type ReadJob, type ReadResult } from './file-read-worker.js';
import { type FsLayer, nodeFs, readRegularFileSync } from './fs-layer.js';
import type { IoLimit } from './io-limit.js';
import { type StoredEntry, storeKey } from './store.js';

const LOAD_BATCH = 64;
/**
 * A batch also ends once it holds this many characters of records: 64 large
 * records (up to maxFileBytes each) were all held at once, so the CLI's `ls`
 * over 40 records of 4 MiB needed 170 MB for the batch alone.
 */
const LOAD_BATCH_CHARS = 8 * 1024 * 1024;

/** The worker at `url`; a .ts one (run from source, in tests) through tsx's loader, which workers do not inherit. */
function startWorker(url: URL, job: ReadJob): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData: job });
  const load = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(load, { eval: true, workerData: job });
}

/**
 * How a load reads in a worker thread (see {@link FileLoader.batches}), and
 * how often it did. Internal, and mutable for tests, which run both paths over
 * the same hostile files and make the worker fail.
 */
export const loaderTuning = {
  /** From how many files: below it, starting a thread costs more than it saves. */
  workerFrom: 2_000,
  // The compiled worker sits beside this module; run from source (tests), it
  // is the .ts file.
  workerUrl: new URL(
    import.meta.url.endsWith('.ts') ? './file-read-worker.ts' : './file-read-worker.js',
    import.meta.url,
  ),
  /** Loads read in a worker, loads whose worker failed (the rest was read here), and workers not yet ended. */
  stats: { workers: 0, fallbacks: 0, running: 0 },
};

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
    if (this.#fs === nodeFs && files.length >= loaderTuning.workerFrom) {
      yield* this.#batchesInWorker(files);
      return;
    }
    yield* this.#batchesHere(files, 0);
  }

  /**
   * Reads in batches of LOAD_BATCH, each batch in one I/O slot, one file
   * after another: one promise and one slot per batch rather than per file
   * (the real layer reads synchronously), and never more than one descriptor.
   */
  async *#batchesHere(files: string[], from: number): AsyncIterable<readonly StoredEntry[]> {
    for (let i = from; i < files.length; ) {
      const end = Math.min(i + LOAD_BATCH, files.length);
      const batch: StoredEntry[] = [];
      let chars = 0;
      const add = (entry: StoredEntry): boolean => {
        batch.push(entry);
        if (entry.kind === 'record') chars += entry.text.length;
        return chars < LOAD_BATCH_CHARS;
      };
      // The real layer is read without a promise per file; another layer (one
      // that injects faults) through its own readFile.
      if (this.#fs === nodeFs)
        await this.#io.run(async () => {
          for (let k = i; k < end && add(this.#readInSync(files[k] as string)); k++);
        });
      else
        await this.#io.run(async () => {
          for (let k = i; k < end && add(await this.#readIn(files[k] as string)); k++);
        });
      i += batch.length;
      yield batch;
    }
  }

  /**
   * {@link #batchesHere}, with the files read in a worker thread while the
   * caller handles the batch before: at `start()` the main thread restores
   * while the worker reads (with 100,000 files, about a third of the time went
   * to reading). The worker holds one I/O slot and one descriptor at a time,
   * and reads at most two batches ahead. If it cannot run (a bundler left its
   * file out) or fails, the rest is read here.
   */
  async *#batchesInWorker(files: string[]): AsyncIterable<readonly StoredEntry[]> {
    let release = (): void => {};
    await new Promise<void>((slot) => {
      void this.#io.run(() => {
        slot();
        return new Promise<void>((done) => {
          release = done;
        });
      });
    });
    const taken = new Int32Array(new SharedArrayBuffer(8));
    const job: ReadJob = {
      job: 'xstate-registry/read-files',
      dir: this.#instances,
      names: files,
      maxFileBytes: this.#maxFileBytes,
      batch: LOAD_BATCH,
      batchChars: LOAD_BATCH_CHARS,
      ahead: 2,
      taken,
    };
    const arrived: ReadResult[][] = [];
    let stopped = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    let worker: Worker | undefined;
    try {
      // Not unref'd: while start() waits for its messages, it is what keeps the process alive.
      worker = startWorker(loaderTuning.workerUrl, job);
      loaderTuning.stats.workers++;
      loaderTuning.stats.running++;
      worker.on('message', (results: ReadResult[]) => {
        arrived.push(results);
        notify();
      });
      // A worker that fails, or ends early, leaves the rest to this thread.
      worker.on('error', () => {
        stopped = true;
        notify();
      });
      worker.on('exit', () => {
        loaderTuning.stats.running--;
        stopped = true;
        notify();
      });
    } catch {
      stopped = true;
    }
    let i = 0;
    try {
      while (i < files.length) {
        if (arrived.length === 0 && !stopped)
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        const results = arrived.shift();
        if (!results) {
          if (stopped) break;
          continue;
        }
        const batch = results.map((result, k) => this.#entryOf(files[i + k] as string, result));
        i += results.length;
        Atomics.add(taken, 0, 1);
        Atomics.notify(taken, 0);
        yield batch;
      }
    } finally {
      // Wakes a worker waiting to read ahead, so that it ends.
      Atomics.store(taken, 1, 1);
      Atomics.add(taken, 0, 1);
      Atomics.notify(taken, 0);
      // Awaited: the load ends once its worker has (a failed one too).
      await worker?.terminate();
      release();
    }
    if (i < files.length) {
      loaderTuning.stats.fallbacks++;
      yield* this.#batchesHere(files, i);
    }
  }

  #entryOf(name: string, result: ReadResult): StoredEntry {
    if (typeof result === 'string') return { kind: 'record', key: storeKey(name), text: result };
    return this.#unreadable(name, this.#pathOfName(name), errorOf(result));
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
    const why =
      code === 'ENOTREG'
        ? new RegistryError(
            'CORRUPT_RECORD',
            `${path} is ${kind}, not a regular file; it was not read.`,
            {
              details: { path },
            },
          )
        : code === 'EILSEQ'
          ? new RegistryError(
              'CORRUPT_RECORD',
              `${path} is not valid UTF-8 (a damaged byte); it was not loaded, so no character is silently replaced.`,
              { cause: error, details: { path } },
            )
          : code === 'EFBIG'
            ? new RegistryError(
                'SNAPSHOT_TOO_LARGE',
                `${path} is ${size} bytes, over maxFileBytes (${this.#maxFileBytes}); it was not read.`,
                { details: { path, bytes: size } },
              )
            : error;
    return { kind: 'unreadable', key: storeKey(name), error: why };
  }
}
