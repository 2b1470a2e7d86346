/** A small benchmark harness: repeated timed runs, the median rate, and a table. */
import { cpus } from 'node:os';

export interface Rate {
  /** Operations per second (median of the runs). */
  rate: number;
  runs: number[];
}

/** Runs `fn(n)` `repeat` times after one warm-up and returns the median rate of n operations. */
export async function measure(
  n: number,
  fn: (n: number) => Promise<void> | void,
  repeat = 5,
): Promise<Rate> {
  await fn(Math.max(1, Math.floor(n / 10)));
  const runs: number[] = [];
  for (let i = 0; i < repeat; i++) {
    gc();
    const t0 = process.hrtime.bigint();
    await fn(n);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    runs.push(n / seconds);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { rate: sorted[Math.floor(sorted.length / 2)] as number, runs };
}

/** One side of a comparison: setup and teardown are not timed. */
export interface Side<C = unknown> {
  setup?: () => Promise<C> | C;
  run: (ctx: C, n: number) => Promise<void> | void;
  teardown?: (ctx: C) => Promise<void> | void;
}

async function timedRun<C>(side: Side<C>, n: number): Promise<number> {
  const ctx = (await side.setup?.()) as C;
  gc();
  const t0 = process.hrtime.bigint();
  await side.run(ctx, n);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await side.teardown?.(ctx);
  return n / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * Measures two sides in alternation (a, b, a, b...) after a warm-up of each,
 * and returns the median rate of each: on a shared two-core machine, drift
 * between a block of runs of one side and a block of the other is larger than
 * the differences being measured.
 */
export async function compare(
  n: number,
  a: Side<any>,
  b: Side<any>,
  repeat = 7,
): Promise<[Rate, Rate]> {
  await timedRun(a, Math.max(1, Math.floor(n / 10)));
  await timedRun(b, Math.max(1, Math.floor(n / 10)));
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < repeat; i++) {
    ra.push(await timedRun(a, n));
    rb.push(await timedRun(b, n));
  }
  return [
    { rate: median(ra), runs: ra },
    { rate: median(rb), runs: rb },
  ];
}

/** Wall time of one call, in milliseconds. */
export async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Heap used after a full collection, in bytes. */
export function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

export interface Row {
  figure: string;
  registry: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: string;
}

export const fmtRate = (r: number) => `${Math.round(r).toLocaleString('en-US')}/s`;
export const fmtMs = (ms: number) =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
export const fmtBytes = (b: number) => `${Math.round(b).toLocaleString('en-US')} B`;

export function header(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `Machine: ${cpu} x ${cpus().length}, Node ${process.version}, ${process.platform}/${process.arch}, ${new Date().toISOString().slice(0, 10)}`;
}

export function table(rows: Row[]): string {
  const cols: (keyof Row)[] = ['figure', 'registry', 'baseline', 'ratio', 'target', 'verdict'];
  const names: Record<keyof Row, string> = {
    figure: 'figure',
    registry: 'registry',
    baseline: 'bare XState / baseline',
    ratio: 'ratio',
    target: 'target',
    verdict: 'met',
  };
  const lines = [
    `| ${cols.map((c) => names[c]).join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
  ];
  for (const row of rows) lines.push(`| ${cols.map((c) => row[c]).join(' | ')} |`);
  return lines.join('\n');
}
