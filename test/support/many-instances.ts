// A child process for the descriptor-limit test: creates COUNT new instances on
// a FileStore in DIR at once, then closes, printing `closed` or the close error.
import { createRegistry, FileStore } from '../../src/index.js';
import { machines } from '../fixtures.js';

const dir = process.argv[2];
const count = Number(process.argv[3] ?? 5000);
if (!dir) throw new Error('usage: many-instances.ts DIR COUNT');
const registry = createRegistry({ machines, store: new FileStore({ dir }) });
registry.on('error', () => {}); // reported, and counted by the parent at the next start
await registry.start();
await Promise.all(
  Array.from({ length: count }, (_, i) => registry.spawnSingleton('counter', `n/${i}`)),
);
try {
  await registry.close();
  process.stdout.write('closed\n');
} catch (err) {
  const e = err as { code?: string; details?: { ids?: string[] } };
  process.stdout.write(`failed ${e.code} ${e.details?.ids?.length ?? '?'}\n`);
}
