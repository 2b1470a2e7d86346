import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry, FileStore } from '../../src/index.js';
import { counter } from '../fixtures.js';
import { tempDir } from '../helpers.js';
import { bundled } from '../support/bundled.js';

const ACTORS = 20;
// -1: nothing acknowledged yet (a worker killed while spawning may not have created every actor).
// CI's passes on other Node and XState versions run fewer (SIGKILL_ROUNDS=10); the first runs all.
const ROUNDS = Number(process.env.SIGKILL_ROUNDS ?? 30);

/** Runs the worker and kills it: mostly a random moment after its first acknowledgement, sometimes at any moment. */
async function runAndKill(dir: string): Promise<number[]> {
  const worker = await bundled(join(import.meta.dirname, 'worker.ts'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, dir, String(ACTORS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acked: number[] = new Array(ACTORS).fill(-1);
    let buffer = '';
    let killing = false;
    let stderr = '';
    // One round in four dies at a random moment from birth: during start, restore or spawning.
    if (Math.random() < 0.25) {
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), Math.random() * 600);
    }
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('started') && line !== 'started []')
          reject(new Error(`worker quarantined records: ${line}`));
        if (line.startsWith('ack ')) {
          acked = JSON.parse(line.slice(4));
          if (!killing) {
            killing = true;
            // Kill at a random moment during the writes that follow.
            setTimeout(() => child.kill('SIGKILL'), Math.random() * 40);
          }
        }
        nl = buffer.indexOf('\n');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`worker exited with ${code}: ${stderr}`));
    });
  });
}

describe('SIGKILL at random moments', () => {
  it(`keeps every acknowledged state, over ${ROUNDS} kills`, async () => {
    const dir = await tempDir();
    let floor: number[] = new Array(ACTORS).fill(-1);
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await runAndKill(dir);
      // Every file parses, with no temporary leftovers counted as instances.
      // (A worker killed before its first start() has not created instances/ yet.)
      const names = await readdir(join(dir, 'instances')).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' && round === 0) return [] as string[];
        throw err;
      });
      for (const name of names) {
        if (name.startsWith('.tmp-')) continue;
        JSON.parse(await readFile(join(dir, 'instances', name), 'utf8'));
      }
      const registry = createRegistry({ machines: { counter }, store: new FileStore({ dir }) });
      const summary = await registry.start();
      expect(summary.quarantined).toEqual([]);
      const counts = await Promise.all(
        Array.from(
          { length: ACTORS },
          async (_, i) =>
            ((await registry.getStatus(`actor/${i}`))?.context as { count: number } | undefined)
              ?.count ?? -1,
        ),
      );
      for (let i = 0; i < ACTORS; i++) {
        expect(counts[i]).toBeGreaterThanOrEqual(acked[i] as number);
        expect(counts[i]).toBeGreaterThanOrEqual(floor[i] as number);
      }
      floor = counts;
      await registry.close();
    }
    expect(floor.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 120_000);
});
