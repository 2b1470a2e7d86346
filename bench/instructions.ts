/**
 * Instruction counts: a measure that does not move with the neighbours on a
 * shared machine, beside the wall-clock rounds. Each side of each counted
 * scenario runs in bench/count-child.ts, compiled to plain JavaScript (no
 * loader whose caches would move the counts), under V8's --predictable mode:
 * one thread does all of V8's work (compilers and GC included), with fixed
 * hash and random seeds and a fixed GC schedule, so what the main thread runs
 * no longer depends on when a helper thread finishes. Without it, whether a
 * round ran before or after the optimized code was installed was a matter of
 * timing: two identical passes differed by up to 12% per scenario.
 *
 * The counter is chosen at run time (BENCH_COUNTER=perf|callgrind|none forces one):
 * - `perf stat -e instructions:u` when the kernel exposes the counter: per
 *   scenario and side, a process with the timed parts minus one with setup and
 *   teardown only, divided by the operations;
 * - otherwise callgrind (valgrind): one process per side runs every scenario;
 *   a dump at each mark (see count-child.ts) isolates each round's timed part,
 *   counted on the main thread. The child reads each round's count back and
 *   runs rounds until one repeats the round before it (or, where rounds
 *   alternate with and without a garbage collection, the one before that)
 *   within {@link SETTLE_WITHIN}: the compiler's work, counted in the first
 *   rounds, is then done. The figure is the last round (or the mean of the
 *   alternating two), and the difference between the repeating rounds is
 *   reported as the scenario's spread (with two passes, the larger of that
 *   and the difference between the passes);
 * - otherwise none: the rows say "n/a (no counter)".
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChildPlan, ChildRan } from './count-child.js';
import { settled } from './harness.js';
import type { Counted, Counts } from './report.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
/**
 * BENCH_COUNT_NODE_FLAGS replaces them (e.g. `--hash-seed=1 --random-seed=1 --single-threaded-gc
 * --no-memory-reducer`, the flags before --predictable: the compiler on helper threads, not counted,
 * and figures that move by up to 12% between passes).
 */
export const NODE_FLAGS = process.env.BENCH_COUNT_NODE_FLAGS
  ? [...process.env.BENCH_COUNT_NODE_FLAGS.split(' ').filter(Boolean), '--expose-gc']
  : [
      '--predictable',
      '--predictable-gc-schedule',
      '--hash-seed=1',
      '--random-seed=1',
      '--expose-gc',
    ];

/** Two consecutive rounds within this (relative) end a scenario's rounds under callgrind. */
export const SETTLE_WITHIN = 0.001;
/** Rounds before the settling check may end a scenario (the first rounds warm it up). */
const SETTLE_MIN_ROUNDS = 3;

export interface CountPlan {
  /**
   * `at`: the number of operations of the wall-clock row this scenario backs.
   * Such a scenario is counted at n and 3n operations, and its figure is the
   * count those two predict for a run of `at` operations: per operation, the
   * marginal cost plus the fixed cost (e.g. the final flush's one write per
   * actor) spread over `at`, as the wall-clock row spreads it. Counting `at`
   * operations under callgrind itself would take an hour.
   */
  scenarios: (ChildPlan['scenarios'][number] & { at?: number })[];
  storedDir?: string;
  /** 2: run everything twice and report the spread between the passes too. */
  passes: 1 | 2;
}

type Tool = 'perf' | 'callgrind';

function detect(): Tool | undefined {
  const forced = process.env.BENCH_COUNTER;
  if (forced === 'none') return undefined;
  if (forced !== 'callgrind' && perfWorks()) return 'perf';
  if (forced === 'perf') return undefined;
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return 'callgrind';
  } catch {
    return undefined;
  }
}

/** `perf stat` prints a number where the kernel has the counter, "<not supported>" where not. */
function perfWorks(): boolean {
  try {
    const out = execFileSync('sh', ['-c', 'perf stat -x, -e instructions:u true 2>&1 >/dev/null'], {
      encoding: 'utf8',
    });
    return /^\d+,/m.test(out);
  } catch {
    return false;
  }
}

const childScript = () => join(root, '.tmp', 'bench-count', 'count-child.js');

/** Compiles count-child.ts and what it imports, with the package's own tsc. */
function compileChild(): void {
  execFileSync(
    join(root, 'node_modules', '.bin', 'tsc'),
    ['-p', join(root, 'bench', 'tsconfig.count.json')],
    { stdio: 'inherit' },
  );
}

const ranOf = (stdout: string) =>
  (JSON.parse(stdout.trim().split('\n').pop() ?? '') as { ran: ChildRan[] }).ran;

/** One side's figure for one scenario: per operation, and how far its last two rounds differ. */
interface SideCount {
  perOp: number;
  /** Relative difference of the last two rounds (callgrind), undefined for perf's mean. */
  settle?: number;
  /** Rounds run (callgrind). */
  rounds?: number;
}

/** callgrind: one process per side; per scenario, the settled (last) round's count per operation. */
async function callgrindSide(
  plan: CountPlan,
  side: ChildPlan['side'],
): Promise<Map<string, SideCount>> {
  const dir = await mkdtemp(join(tmpdir(), 'xreg-count-'));
  try {
    const out = join(dir, 'cg.out');
    const child: ChildPlan = {
      side,
      scenarios: plan.scenarios,
      ...(plan.storedDir ? { storedDir: plan.storedDir } : {}),
      dumpFile: out,
      settle: { within: SETTLE_WITHIN, minRounds: SETTLE_MIN_ROUNDS },
    };
    const { stdout } = await run(
      'valgrind',
      [
        '--tool=callgrind',
        '--separate-threads=yes',
        '--dump-before=uv_getrusage',
        `--callgrind-out-file=${out}`,
        process.execPath,
        ...NODE_FLAGS,
        childScript(),
        JSON.stringify(child),
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const ran = ranOf(stdout);
    // Dumps at marks are of the main thread (thread 01), numbered from 1.
    const dumps = (await readdir(dir)).filter((f) => /^cg\.out\.\d+-01$/.test(f)).length;
    const expected = 2 * ran.reduce((sum, s) => sum + s.rounds, 0);
    if (dumps !== expected)
      throw new Error(
        `callgrind wrote ${dumps} dumps where the marks make ${expected}: something else called uv_getrusage`,
      );
    const counts = new Map<string, SideCount>();
    for (const { name, rounds, counts: perRound = [] } of ran) {
      const n = plan.scenarios.find((s) => (s.key ?? s.name) === name)?.n ?? 1;
      const last = perRound.at(-1);
      if (last === undefined) continue;
      // Rounds that alternate (a collection every other round) count as the mean of the two.
      const period = settled(perRound, SETTLE_WITHIN) ?? 1;
      const counted = period === 1 ? last : (last + (perRound.at(-2) ?? last)) / 2;
      const same = perRound.at(-1 - period);
      counts.set(name, {
        perOp: counted / n,
        settle: same === undefined ? 1 : Math.abs(last - same) / last,
        rounds,
      });
      console.error(
        `    ${side} ${name}: ${rounds} rounds, per op ${perRound.map((c) => Math.round(c / n)).join(', ')}`,
      );
    }
    return counts;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function perfCount(child: ChildPlan): Promise<number> {
  const { stderr } = await run('perf', [
    'stat',
    '-x,',
    '-e',
    'instructions:u',
    process.execPath,
    ...NODE_FLAGS,
    childScript(),
    JSON.stringify(child),
  ]);
  const line = stderr.split('\n').find((l) => /^\d+,.*instructions/.test(l));
  if (!line) throw new Error(`perf stat printed no instruction count:\n${stderr}`);
  return Number(line.split(',')[0]);
}

/** perf: per scenario, a process with its timed parts minus one without them (mean per operation). */
async function perfSide(plan: CountPlan, side: ChildPlan['side']): Promise<Map<string, SideCount>> {
  const counts = new Map<string, SideCount>();
  for (const s of plan.scenarios) {
    const child: ChildPlan = {
      side,
      scenarios: [s],
      ...(plan.storedDir ? { storedDir: plan.storedDir } : {}),
    };
    const { stdout } = await run(process.execPath, [
      ...NODE_FLAGS,
      childScript(),
      JSON.stringify({ ...child, skipRun: true }),
    ]);
    if (ranOf(stdout).length === 0) continue;
    const full = await perfCount(child);
    const setupOnly = await perfCount({ ...child, skipRun: true });
    counts.set(s.key ?? s.name, { perOp: (full - setupOnly) / (s.n * s.rounds) });
  }
  return counts;
}

/** Above this difference between repeating rounds, two sizes are not extrapolated from. */
const UNSETTLED = 0.01;

/**
 * Replaces the count of a scenario counted at n and 3n (see {@link CountPlan})
 * by the per-operation count the two predict for `at` operations: the marginal
 * cost per operation, plus what is left of the n-run's total (its fixed part)
 * spread over `at`.
 */
function extrapolate(counts: Map<string, SideCount>, s: CountPlan['scenarios'][number]): void {
  const small = counts.get(s.name);
  const large = counts.get(`${s.name}@3n`);
  counts.delete(`${s.name}@3n`);
  if (!small || !large || s.at === undefined) {
    counts.delete(s.name);
    return;
  }
  const settles = [small.settle, large.settle].filter((x) => x !== undefined);
  // Rounds that never repeated (file I/O completing in a different order each
  // round, say) make the difference of two sizes meaningless, even negative:
  // keep the n-run's figure, whose spread then says it confirms nothing.
  if (settles.some((x) => x > UNSETTLED)) {
    counts.set(s.name, {
      ...small,
      settle: Math.max(...settles),
      rounds: (small.rounds ?? 0) + (large.rounds ?? 0),
    });
    console.error(`    ${s.name}: rounds did not repeat, figure at n = ${s.n} (not extrapolated)`);
    return;
  }
  const marginal = (large.perOp * 3 * s.n - small.perOp * s.n) / (2 * s.n);
  const fixed = small.perOp * s.n - marginal * s.n;
  counts.set(s.name, {
    perOp: marginal + fixed / s.at,
    ...(settles.length > 0 ? { settle: Math.max(...settles) } : {}),
    rounds: (small.rounds ?? 0) + (large.rounds ?? 0),
  });
  console.error(
    `    ${s.name}: marginal ${Math.round(marginal)} per op, fixed ${Math.round(fixed)}, at ${s.at}: ${Math.round(marginal + fixed / s.at)} per op`,
  );
}

/** Counts every scenario of `plan` on both sides, once or twice; `unavailable` says why not. */
export async function countInstructions(plan: CountPlan): Promise<Counts> {
  const tool = detect();
  if (!tool) return { unavailable: 'no counter' };
  compileChild();
  const side = tool === 'perf' ? perfSide : callgrindSide;
  const sized: CountPlan = {
    ...plan,
    scenarios: plan.scenarios.flatMap((s) =>
      s.at === undefined ? [s] : [s, { ...s, n: 3 * s.n, key: `${s.name}@3n` }],
    ),
  };
  const passes: [Map<string, SideCount>, Map<string, SideCount>][] = [];
  for (let p = 0; p < plan.passes; p++) {
    // Both sides at once: counts do not depend on what else the machine runs.
    const both = await Promise.all([side(sized, 'bare'), side(sized, 'registry')]);
    for (const s of plan.scenarios) if (s.at !== undefined) for (const m of both) extrapolate(m, s);
    passes.push(both);
  }
  const byScenario = new Map<string, Counted>();
  for (const { name } of plan.scenarios) {
    const values = passes.flatMap(([b, r]) => {
      const bc = b.get(name);
      const rc = r.get(name);
      return bc && rc ? [[bc, rc] as const] : [];
    });
    if (values.length < passes.length || values.length === 0) continue;
    const of = (i: 0 | 1) => values.map((v) => v[i]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const between = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / mean(xs);
    // The spread: the largest of the passes' difference and each side's last-two-rounds difference.
    const spreads = values.flatMap(([b, r]) => [b.settle, r.settle]).filter((x) => x !== undefined);
    if (values.length > 1)
      spreads.push(between(of(0).map((c) => c.perOp)), between(of(1).map((c) => c.perOp)));
    byScenario.set(name, {
      bare: mean(of(0).map((c) => c.perOp)),
      registry: mean(of(1).map((c) => c.perOp)),
      spread: spreads.length > 0 ? Math.max(...spreads) : undefined,
      passes: values.length,
    });
  }
  const how =
    tool === 'perf'
      ? 'perf stat -e instructions:u, a setup-only process subtracted, mean of the rounds'
      : `${execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim()} callgrind, main thread, rounds until they repeat within ${100 * SETTLE_WITHIN}%, the last one (or the mean of two that alternate)`;
  return { tool: `${how}; node ${NODE_FLAGS.join(' ')}`, byScenario };
}
