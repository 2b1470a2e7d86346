/**
 * Row 6 of the benchmark, in a fresh process per measurement so that heap
 * figures are not blurred by what an earlier measurement left behind. Runs the
 * same sides as the instruction counts (bench/scenarios.ts).
 * Usage: node --expose-gc --import tsx bench/start-child.ts DIR bare|bare-read|registry|passive
 */
import { heapUsed, type Side } from './harness.js';
import { bareReadRestore, bareRestore, registryRestore } from './scenarios.js';

const [dir, mode] = process.argv.slice(2) as [string, string];
const side: Side<any> =
  mode === 'bare'
    ? bareRestore(dir)
    : mode === 'bare-read'
      ? bareReadRestore(dir)
      : registryRestore(dir, mode === 'passive' ? 60_000 : undefined);
const before = heapUsed();
const ctx = await side.setup?.();
// Bare XState's snapshots are parsed in setup and stay: they are not its heap per instance.
const base = mode === 'bare' ? heapUsed() : before;
const t0 = performance.now();
await side.run(ctx, 0);
const ms = performance.now() - t0;
const heap = heapUsed() - base;
const { instances, live } =
  mode === 'bare'
    ? { instances: ctx.snapshots.length, live: ctx.snapshots.length }
    : mode === 'bare-read'
      ? { instances: ctx.size, live: ctx.size }
      : ctx.stats();
console.log(JSON.stringify({ ms, heapPerInstance: heap / instances, hosted: live }));
await side.teardown?.(ctx);
