// A child process for the SIGKILL test: hosts counters on a FileStore and, after
// each flush, prints the counts that are now acknowledged. The parent kills it
// at random moments and checks that every acknowledged count survived.
import { createRegistry, FileStore } from '../../src/index.js';
import { counter } from '../fixtures.js';

const dir = process.argv[2];
const actors = Number(process.argv[3] ?? 20);
if (!dir) throw new Error('usage: worker.ts DIR [ACTORS]');

const registry = createRegistry({ machines: { counter }, store: new FileStore({ dir }) });
const summary = await registry.start();
process.stdout.write(`started ${JSON.stringify(summary.quarantined)}\n`);
const ids = Array.from({ length: actors }, (_, i) => `actor/${i}`);
for (const id of ids) await registry.spawnSingleton('counter', id);
for (;;) {
  for (let i = 0; i < 50; i++) {
    const id = ids[Math.floor(Math.random() * ids.length)] as string;
    await registry.send(id, { type: 'INC' });
  }
  const counts = ids.map((id) => registry.get(id)?.getSnapshot().context.count ?? -1);
  await registry.flush();
  process.stdout.write(`ack ${JSON.stringify(counts)}\n`);
}
