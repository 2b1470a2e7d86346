import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';
import { bundled } from '../support/bundled.js';

export interface Worker {
  ownerId: string;
  child: ChildProcess;
  call(cmd: Record<string, unknown>): Promise<any>;
  signal(sig: NodeJS.Signals): void;
  exited: Promise<void>;
  /** Lines the process printed on its own (not answers), in order. */
  notes: unknown[];
}

/** Starts test/pg/worker.ts as a separate Node process on the shared database. */
export async function startWorker(
  url: string,
  table: string,
  durability: 'relaxed' | 'strict' = 'strict',
  /** Which deploy of the application the process runs (see worker.ts). */
  profile: 'v1' | 'v2' = 'v1',
  /**
   * The store's lease. Short by default so that takeover tests run quickly; a
   * test about something else takes a long one, so that a process starved of
   * CPU on a loaded machine does not lose its instances mid-test.
   */
  leaseMs = 1000,
  /** More of the process's environment (XR_OWNER_ID: its store's ownerId). */
  env: Record<string, string> = {},
): Promise<Worker> {
  const script = await bundled(join(import.meta.dirname, 'worker.ts'));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, url, table, durability, profile], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, XR_LEASE_MS: String(leaseMs), ...env },
    });
    const notes: unknown[] = [];
    const pending = new Map<number, (v: unknown) => void>();
    let seq = 0;
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    child.on('exit', (code, sig) =>
      reject(new Error(`worker exited (${code ?? sig}) before it was ready: ${stderr}`)),
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const msg = JSON.parse(line) as { ready?: string; seq?: number };
      if (msg.ready) {
        resolve({
          ownerId: msg.ready,
          child,
          exited,
          notes,
          call(cmd) {
            const n = ++seq;
            child.stdin?.write(`${JSON.stringify({ seq: n, ...cmd })}\n`);
            return new Promise((r) => pending.set(n, r));
          },
          signal(sig) {
            child.kill(sig);
          },
        });
      } else if (msg.seq !== undefined) {
        pending.get(msg.seq)?.(msg);
        pending.delete(msg.seq);
      } else {
        notes.push(msg);
      }
    });
  });
}

/**
 * A test file's worker processes: the returned function starts `n` of them on
 * `table` of the database at `url` (unset where PostgreSQL tests are skipped); after each test every one is killed (SIGCONT first, for a test that
 * stopped one) and awaited.
 */
export function workerPool(
  url: string | undefined,
): (
  n: number,
  table: string,
  durability?: 'relaxed' | 'strict',
  profile?: 'v1' | 'v2',
  leaseMs?: number,
) => Promise<Worker[]> {
  let workers: Worker[] = [];
  afterEach(async () => {
    for (const w of workers) {
      w.signal('SIGCONT');
      w.signal('SIGKILL');
    }
    await Promise.all(workers.map((w) => w.exited));
    workers = [];
  });
  return async (n, table, durability = 'strict', profile = 'v1', leaseMs = 1000) => {
    const started = await Promise.all(
      Array.from({ length: n }, () =>
        startWorker(url as string, table, durability, profile, leaseMs),
      ),
    );
    workers.push(...started);
    return started;
  };
}
