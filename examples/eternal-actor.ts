/**
 * An eternal actor: a heartbeat that never finishes. It survives restarts: its
 * pending `after` timer is persisted with its absolute due time, so a new
 * process resumes the beat where the old one left off.
 *
 * Run twice: node --import tsx examples/eternal-actor.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, FileStore } from '../src/index.js';
import { heartbeat } from './machines.js';

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'eternal-'));
  for (let life = 1; life <= 2; life++) {
    const registry = createRegistry({ machines: { heartbeat }, store: new FileStore({ dir }) });
    await registry.start();
    await registry.spawnSingleton('heartbeat', 'pulse', { input: { intervalMs: 200 } });
    await new Promise((r) => setTimeout(r, 700));
    console.log(`life ${life}: beats so far`, (await registry.getStatus('pulse'))?.context);
    await registry.close(); // not stopped: the next life resumes it
  }
}
