/** A small benchmark harness: alternated timed rounds, their median and best, and a table. */
import { cpus } from 'node:os';

/** N rounds of one measurement: the median and the best of them. */
export interface Stat {
  median: number;
  /** The best round: the highest rate, or the lowest time or size (see {@link summarize}). */
  best: number;
  runs: number[];
}

/** The rounds' median and best; `higherIsBetter` for rates, not for times and sizes. */
export function summarize(runs: number[], higherIsBetter: boolean): Stat {
  const sorted = [...runs].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] as number,
    best: (higherIsBetter ? sorted[sorted.length - 1] : sorted[0]) as number,
    runs,
  };
}

/** One side of a comparison: setup and teardown are not timed. */
export interface Side<C = unknown> {
  setup?: () => Promise<C> | C;
  run: (ctx: C, n: number) => Promise<void> | void;
  teardown?: (ctx: C) => Promise<void> | void;
  /**
   * What stays set up and run across all of a comparison's rounds (see
   * {@link keepResident}); by default this side itself.
   * A side whose contexts cannot coexist (two registries on one directory)
   * names another that does the same work.
   */
  resident?: Side<any>;
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

/**
 * Sets up and runs `side`'s resident context (see {@link Side.resident}) on n
 * operations, and returns its teardown: the measured rounds run while it lives.
 * Without it, the full collection before each round frees every object of the
 * round before, the hidden classes with them, and V8 throws away the optimized
 * code that embeds those classes ("weak objects" in --trace-deopt): each round
 * then recompiles its hot path inside its timed part.
 */
export async function keepResident(side: Side<any>, n: number): Promise<() => Promise<void>> {
  const resident = side.resident ?? side;
  const ctx = await resident.setup?.();
  await resident.run(ctx, n);
  return async () => {
    await resident.teardown?.(ctx);
  };
}

/**
 * Measures two sides in alternation (a, b, a, b...) after a warm-up of each,
 * and returns the median and best rate of each: on a shared two-core machine,
 * drift between a block of runs of one side and a block of the other is larger
 * than the differences being measured. The warm-up's contexts stay alive as
 * residents ({@link keepResident}) until the rounds end, as a server keeps its
 * other actors.
 */
export async function compare(
  n: number,
  a: Side<any>,
  b: Side<any>,
  rounds: number,
): Promise<[Stat, Stat]> {
  const warm = Math.max(1, Math.floor(n / 10));
  const dropA = await keepResident(a, warm);
  const dropB = await keepResident(b, warm);
  const ra: number[] = [];
  const rb: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      ra.push(await timedRun(a, n));
      rb.push(await timedRun(b, n));
    }
  } finally {
    await dropA();
    await dropB();
  }
  return [summarize(ra, true), summarize(rb, true)];
}

/**
 * The period (1 or 2 rounds) after which the last round repeats within
 * `within`, or undefined. Period 2: some scenarios settle into rounds that
 * alternate, one with a garbage collection and one without; the figure is then
 * the mean of the two (bench/instructions.ts).
 *
 * @example
 * settled([39e6, 37.72e6, 31.36e6, 37.72e6], 0.001); // 2
 */
export function settled(counts: number[], within: number): 1 | 2 | undefined {
  const last = counts.at(-1);
  if (last === undefined) return undefined;
  const near = (x: number | undefined) => x !== undefined && Math.abs(last - x) <= within * last;
  if (near(counts.at(-2))) return 1;
  if (near(counts.at(-3))) return 2;
  return undefined;
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

/**
 * Heap used after enough full collections, in bytes. Two were not enough, nor
 * is stopping at the first that frees nothing: 20,000 actors of a registry
 * closed just before survived the first two collections and went at the third
 * (at the first with --no-concurrent-marking), which made row 7 read -1,000 B
 * per bare actor. So at least four, then on until one frees nothing.
 */
export function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  let used = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    gc();
    const now = process.memoryUsage().heapUsed;
    if (now >= used) return now;
    used = now;
  }
  return used;
}

export const fmtRate = (r: number) => `${Math.round(r).toLocaleString('en-US')}/s`;
export const fmtMs = (ms: number) =>
  ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
export const fmtBytes = (b: number) => `${Math.round(b).toLocaleString('en-US')} B`;

export function header(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `Machine: ${cpu} x ${cpus().length}, Node ${process.version}, ${process.platform}/${process.arch}, ${new Date().toISOString().slice(0, 10)}`;
}

/** A Markdown table of `rows` (objects with the same keys), under `names` for the header. */
export function markdownTable<K extends string>(
  names: Record<K, string>,
  rows: Record<K, string>[],
): string {
  const cols = Object.keys(names) as K[];
  const lines = [
    `| ${cols.map((c) => names[c]).join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
  ];
  for (const row of rows) lines.push(`| ${cols.map((c) => row[c]).join(' | ')} |`);
  return lines.join('\n');
}
