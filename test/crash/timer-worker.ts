// Arms an alarm on a FileStore, makes it durable, says so, and waits to be killed.
import { createRegistry, FileStore } from '../../src/index.js';
import { alarm } from './alarm.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: timer-worker.ts DIR');
const registry = createRegistry({ machines: { alarm }, store: new FileStore({ dir }) });
await registry.start();
await registry.spawnSingleton('alarm', 'wake-up');
await registry.flush();
process.stdout.write('ready\n');
setInterval(() => {}, 1000);
