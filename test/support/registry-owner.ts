// A child process that owns a FileStore directory through a live registry
// (demo machines) and prints `ready`; it closes the registry and exits on `exit`.
import { createInterface } from 'node:readline';
import { demoMachines } from '../../examples/machines.js';
import { createRegistry, FileStore } from '../../src/index.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: registry-owner.ts DIR');
const registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
await registry.start();
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'exit') break;
}
await registry.close();
process.stdout.write('closed\n');
// stdin, still open in the parent, would keep this process alive.
process.exit(0);
