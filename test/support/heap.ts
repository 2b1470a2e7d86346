import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Memory-bound tests measure the heap after a full collection; vitest's workers
// run without --expose-gc, so the flag is set at run time.
setFlagsFromString('--expose-gc');

/** A full garbage collection. */
export const gc = runInNewContext('gc') as () => void;

/** The heap in use after two full collections (the second sweeps what the first's finalizers freed). */
export function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
