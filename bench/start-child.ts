/**
 * Row 6 of the benchmark, in a fresh process per measurement so that heap
 * figures are not blurred by what an earlier measurement left behind.
 * Usage: node --expose-gc --import tsx bench/start-child.ts DIR bare|registry|passive
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AnyActor, createActor } from 'xstate';
import { createRegistry, FileStore } from '../dist/index.js';
import { heapUsed } from './harness.js';
import { counter } from './machine.js';

const [dir, mode] = process.argv.slice(2) as [string, string];
if (mode === 'bare') {
  // Bare XState restoring the same snapshots, already parsed in memory.
  const snapshots = readdirSync(join(dir, 'instances')).map(
    (name) => JSON.parse(readFileSync(join(dir, 'instances', name), 'utf8')).snapshot,
  );
  const before = heapUsed();
  const t0 = performance.now();
  const map = new Map<number, AnyActor>();
  for (const [i, s] of snapshots.entries())
    map.set(i, createActor(counter, { snapshot: s }).start());
  const ms = performance.now() - t0;
  const heap = heapUsed() - before;
  console.log(JSON.stringify({ ms, heapPerInstance: heap / snapshots.length, hosted: map.size }));
} else {
  const before = heapUsed();
  const t0 = performance.now();
  const registry = createRegistry({
    machines: { counter },
    store: new FileStore({ dir }),
    ...(mode === 'passive' ? { idleTimeoutMs: 60_000 } : {}),
  });
  const summary = await registry.start();
  const ms = performance.now() - t0;
  const heap = heapUsed() - before;
  const total = summary.restored + summary.passive;
  console.log(JSON.stringify({ ms, heapPerInstance: heap / total, hosted: summary.restored }));
  await registry.close();
}
