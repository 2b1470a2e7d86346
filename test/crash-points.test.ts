import { describe, expect, it } from 'vitest';
import { createRegistry, FileStore } from '../src/index.js';
import type { FsLayer } from '../src/testing/index.js';
import { machines } from './fixtures.js';
import { PowerCutFs } from './support/power-cut-fs.js';

interface Outcome {
  steps: number;
  violations: string[];
}

/**
 * Cuts the power at every step of the write sequence of one update (and of a
 * purge, and of a first write), reboots, and checks what a restarted registry
 * finds: the old or the new state, never a torn file, never less than what was
 * acknowledged. `tamper` lets a test break the FsLayer to prove the check bites.
 */
async function cutEverywhere(tamper: (fs: FsLayer) => FsLayer = (fs) => fs): Promise<Outcome> {
  const violations: string[] = [];
  let steps = 0;
  for (let cut = 0; ; cut++) {
    const sim = new PowerCutFs();
    const fs = tamper(sim.layer);
    const registry = createRegistry({ machines, store: new FileStore({ dir: '/d', fs }) });
    registry.on('error', () => {});
    await registry.start();
    await registry.spawnSingleton('counter', 'kept');
    await registry.send('kept', { type: 'INC' });
    await registry.spawnSingleton('counter', 'doomed');
    await registry.flush(); // acknowledged: kept=1, doomed exists

    sim.armAt(cut);
    let acked = 1;
    let purged = false;
    let fresh = false;
    try {
      await registry.send('kept', { type: 'INC' });
      await registry.flush();
      acked = 2;
      (await registry.spawnSingleton('counter', 'doomed')).send({ type: 'FINISH' });
      await registry.purge('doomed');
      purged = true;
      await registry.spawnSingleton('counter', 'fresh');
      await registry.flush();
      fresh = true;
    } catch {
      // the power went out
    }
    const finished = !sim.isDown;
    sim.reboot();

    const after = createRegistry({ machines, store: new FileStore({ dir: '/d', fs: sim.layer }) });
    const summary = await after.start();
    const label = `cut at step ${cut} (${sim.log.find((l) => l.startsWith('CUT')) ?? 'no cut'})`;
    if (summary.quarantined.length)
      violations.push(`${label}: quarantined ${JSON.stringify(summary.quarantined)}`);
    const kept = (await after.getStatus('kept'))?.context as { count: number } | undefined;
    if (!kept) violations.push(`${label}: 'kept' is gone`);
    else if (kept.count < acked || kept.count > 2)
      violations.push(`${label}: 'kept' has count ${kept.count}, acknowledged ${acked}`);
    if (purged && (await after.getStatus('doomed')))
      violations.push(`${label}: a purged instance came back`);
    if (!purged && !(await after.getStatus('doomed')))
      violations.push(`${label}: 'doomed' vanished before its purge was acknowledged`);
    if (fresh && !(await after.getStatus('fresh')))
      violations.push(`${label}: acknowledged 'fresh' is gone`);
    await after.close();
    await registry.close().catch(() => {});
    steps = cut;
    if (finished) break;
  }
  return { steps, violations };
}

describe('power cut at every step of the write sequence', () => {
  it('always leaves the old or the new state and never loses an acknowledged one', async () => {
    const { steps, violations } = await cutEverywhere();
    expect(violations).toEqual([]);
    expect(steps).toBeGreaterThanOrEqual(12); // open, write, fsync, close, rename, fsync dir... for each change
  });

  it('catches a store that skips the file fsync', async () => {
    const { violations } = await cutEverywhere((fs) => ({
      ...fs,
      open: async (p, f) => ({ ...(await fs.open(p, f)), sync: async () => {} }),
    }));
    expect(violations.length).toBeGreaterThan(0);
  });

  it('catches a store that skips the directory fsync', async () => {
    const { violations } = await cutEverywhere((fs) => ({ ...fs, syncDir: async () => {} }));
    expect(violations.length).toBeGreaterThan(0);
  });
});
