import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry, FileStore } from '../../src/index.js';
import { fileNameFor } from '../../src/stores/file-name.js';
import { tempDir } from '../helpers.js';
import { alarm } from './alarm.js';

/** Starts the timer worker, waits until its alarm is durable, kills it. */
function armAndKill(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'timer-worker.ts'), dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error('worker did not get killed')),
    );
  });
}

async function dueAt(dir: string): Promise<number> {
  const record = JSON.parse(await readFile(join(dir, 'instances', fileNameFor('wake-up')), 'utf8'));
  expect(record.timers).toHaveLength(1);
  return record.timers[0].dueAt;
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

describe('durable timers across a real process restart (wall clock)', () => {
  it('a timer not yet due fires at its original due time in the new process', async () => {
    const dir = await tempDir();
    await armAndKill(dir);
    const due = await dueAt(dir);
    const registry = createRegistry({ machines: { alarm }, store: new FileStore({ dir }) });
    const summary = await registry.start();
    const restoredEarly = Date.now() < due;
    // Restored before its due time, it must have been re-armed, not delivered as overdue.
    if (restoredEarly) expect(summary.overdueTimers).toBe(0);
    const status = await registry.waitFor('wake-up', (s) => s.value === 'rang', {
      timeoutMs: 30_000,
    });
    const rangAt = (status.context as { rangAt: number }).rangAt;
    // Never early; how late is the benchmark's business, not a test's.
    expect(rangAt).toBeGreaterThanOrEqual(due);
    await registry.close();
  });

  it('a timer that fell due while no process was up fires right after start()', async () => {
    const dir = await tempDir();
    await armAndKill(dir);
    await sleepUntil((await dueAt(dir)) + 50);
    const registry = createRegistry({ machines: { alarm }, store: new FileStore({ dir }) });
    const summary = await registry.start();
    expect(summary.overdueTimers).toBe(1);
    expect((await registry.getStatus('wake-up'))?.value).toBe('rang');
    await registry.close();
  });
});
