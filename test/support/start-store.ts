// A child process that starts a registry over a FileStore in DIR, prints what
// start() found as one JSON line, and closes. Run in a child so that a start
// that blocks the event loop (a FIFO opened synchronously) shows as a hang the
// parent can see, rather than freezing the test runner.
import { createRegistry, FileStore } from '../../src/index.js';
import { loaderTuning } from '../../src/stores/file-loader.js';
import { machines } from '../fixtures.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: start-store.ts DIR [worker]');
// `worker`: the files are read in the loader's worker thread, however few.
if (process.argv[3] === 'worker') loaderTuning.workerFrom = 0;
// `broken-worker`: as `worker`, with a worker that cannot load: the files are read here instead.
if (process.argv[3] === 'broken-worker') {
  loaderTuning.workerFrom = 0;
  loaderTuning.workerUrl = new URL('./no-such-worker.js', import.meta.url);
}
const registry = createRegistry({ machines, store: new FileStore({ dir }) });
const errors: string[] = [];
registry.on('error', (err) => errors.push(err.code));
const summary = await registry.start();
const ids = (await registry.list()).items.map((s) => s.id).sort();
await registry.close();
process.stdout.write(`${JSON.stringify({ summary, ids, errors, loads: loaderTuning.stats })}\n`);
