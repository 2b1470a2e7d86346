// A child process that starts a registry over a FileStore in DIR, prints what
// start() found as one JSON line, and closes. Run in a child so that a start
// that blocks the event loop (a FIFO opened synchronously) shows as a hang the
// parent can see, rather than freezing the test runner.
import { createRegistry, FileStore } from '../../src/index.js';
import { machines } from '../fixtures.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: start-store.ts DIR');
const registry = createRegistry({ machines, store: new FileStore({ dir }) });
const errors: string[] = [];
registry.on('error', (err) => errors.push(err.code));
const summary = await registry.start();
const ids = (await registry.list()).items.map((s) => s.id).sort();
await registry.close();
process.stdout.write(`${JSON.stringify({ summary, ids, errors })}\n`);
