/**
 * The worker thread in which a {@link FileLoader} reads a large store's
 * instance files at `start()`: the main thread restores one batch while the
 * worker reads the next, so the two overlap on two cores. It reads exactly as
 * the main thread would (`readRegularFileSync`: no symlink followed, no FIFO
 * waited on, nothing over `maxFileBytes`), one descriptor at a time, and never
 * more than `ahead` batches ahead of what the main thread has taken, so
 * memory stays bounded whatever the main thread's pace.
 */
import { sep } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { readRegularFileSync } from './fs-layer.js';

/**
 * What the worker is asked to read.
 *
 * @example
 * ```ts
 * const job: ReadJob = { dir, names, maxFileBytes, batch: 64, batchChars: 8 << 20, ahead: 2, taken: new Int32Array(new SharedArrayBuffer(8)) };
 * ```
 */
export interface ReadJob {
  /** Marks the worker's `workerData`, so the module does nothing when merely imported. */
  job: 'xstate-registry/read-files';
  dir: string;
  names: string[];
  maxFileBytes: number;
  batch: number;
  /** A batch also ends once it holds this many characters of records. */
  batchChars: number;
  ahead: number;
  /** How many batches the main thread has taken (Atomics, index 0), and 1 at index 1 once it wants no more. */
  taken: Int32Array;
}

/**
 * One file's result: its text, or why it could not be read (the fields the
 * loader reads from an error; an `Error` does not cross threads intact).
 *
 * @example
 * ```ts
 * const result: ReadResult = { error: { code: 'ENOTREG', kind: 'a FIFO', message: '... is a FIFO' } };
 * ```
 */
export type ReadResult =
  | string
  | { error: { message: string; code?: string; size?: number; kind?: string; errno?: number } };

/** The error a worker's {@link ReadResult} stands for, as `readRegularFileSync` threw it. */
export function errorOf(result: Exclude<ReadResult, string>): Error {
  const { message, ...fields } = result.error;
  return Object.assign(new Error(message), fields);
}

function read(path: string, maxFileBytes: number): ReadResult {
  try {
    return readRegularFileSync(path, maxFileBytes);
  } catch (err) {
    const e = err as Error & { code?: string; size?: number; kind?: string; errno?: number };
    const error: Exclude<ReadResult, string>['error'] = { message: e.message ?? String(err) };
    if (e.code !== undefined) error.code = e.code;
    if (e.size !== undefined) error.size = e.size;
    if (e.kind !== undefined) error.kind = e.kind;
    if (e.errno !== undefined) error.errno = e.errno;
    return { error };
  }
}

function runJob(port: NonNullable<typeof parentPort>, job: ReadJob): void {
  const { dir, names, maxFileBytes, batch, batchChars, ahead, taken } = job;
  let sent = 0;
  for (let i = 0; i < names.length; ) {
    // Wait while `ahead` batches are posted and not yet taken.
    for (let t = Atomics.load(taken, 0); sent - t >= ahead; t = Atomics.load(taken, 0))
      Atomics.wait(taken, 0, t);
    if (Atomics.load(taken, 1) === 1) return;
    const results: ReadResult[] = [];
    const end = Math.min(i + batch, names.length);
    let chars = 0;
    for (let k = i; k < end && chars < batchChars; k++) {
      const result = read(`${dir}${sep}${names[k]}`, maxFileBytes);
      results.push(result);
      if (typeof result === 'string') chars += result.length;
    }
    i += results.length;
    port.postMessage(results);
    sent++;
  }
}

const data = workerData as ReadJob | undefined;
if (parentPort && data?.job === 'xstate-registry/read-files') runJob(parentPort, data);
