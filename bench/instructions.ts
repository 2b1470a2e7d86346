/**
 * Instruction counts: a measure that does not move with the neighbours on a
 * shared machine, beside the wall-clock rounds. Each side of each counted
 * scenario runs in bench/count-child.ts, compiled to plain JavaScript (no
 * loader whose caches would move the counts), with fixed hash and random seeds,
 * garbage collection on the main thread, and no memory reducer (a timer-driven GC).
 *
 * The counter is chosen at run time (BENCH_COUNTER=perf|callgrind|none forces one):
 * - `perf stat -e instructions:u` when the kernel exposes the counter: per
 *   scenario and side, a process with the timed parts minus one with setup and
 *   teardown only, divided by the operations;
 * - otherwise callgrind (valgrind): one process per side runs every scenario;
 *   a dump at each mark (see count-child.ts) isolates each round's timed part,
 *   counted on the main thread only: V8's optimizing compiler runs on helper
 *   threads, as it does natively. A scenario's figure is its best round, as
 *   on the wall clock: the rounds that also finished a compile or a major GC
 *   cost more, and the best one repeats to within a fraction of a percent;
 * - otherwise none: the rows say "n/a (no counter)".
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChildPlan } from './count-child.js';
import type { Counted, Counts } from './report.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
/** BENCH_COUNT_NODE_FLAGS replaces them (e.g. with --predictable: exactly repeatable, but the optimizing compiler then runs on the main thread and is counted). */
export const NODE_FLAGS = process.env.BENCH_COUNT_NODE_FLAGS
  ? [...process.env.BENCH_COUNT_NODE_FLAGS.split(' ').filter(Boolean), '--expose-gc']
  : [
      '--hash-seed=1',
      '--random-seed=1',
      '--single-threaded-gc',
      '--no-memory-reducer',
      '--expose-gc',
    ];

export interface CountPlan {
  scenarios: ChildPlan['scenarios'];
  storedDir?: string;
  /** 2: run everything twice and report the spread between the passes. */
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
  (JSON.parse(stdout.trim().split('\n').pop() ?? '') as { ran: { name: string; rounds: number }[] })
    .ran;

/** callgrind: one process per side; per scenario, the best round's count per operation. */
async function callgrindSide(
  plan: CountPlan,
  side: ChildPlan['side'],
): Promise<Map<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'xreg-count-'));
  try {
    const out = join(dir, 'cg.out');
    const child: ChildPlan = {
      side,
      scenarios: plan.scenarios,
      ...(plan.storedDir ? { storedDir: plan.storedDir } : {}),
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
    const counts = new Map<string, number>();
    let mark = 0;
    for (const { name, rounds } of ran) {
      const n = plan.scenarios.find((s) => s.name === name)?.n ?? 1;
      let best = Number.POSITIVE_INFINITY;
      for (let r = 0; r < rounds; r++) {
        mark += 2;
        const text = await readFile(`${out}.${mark}-01`, 'utf8');
        const total = /^(?:totals|summary): (\d+)/m.exec(text)?.[1];
        if (total === undefined) throw new Error(`no total in callgrind dump ${out}.${mark}-01`);
        best = Math.min(best, Number(total) / n);
      }
      counts.set(name, best);
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
async function perfSide(plan: CountPlan, side: ChildPlan['side']): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
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
    counts.set(s.name, (full - setupOnly) / (s.n * s.rounds));
  }
  return counts;
}

/** Counts every scenario of `plan` on both sides, once or twice; `unavailable` says why not. */
export async function countInstructions(plan: CountPlan): Promise<Counts> {
  const tool = detect();
  if (!tool) return { unavailable: 'no counter' };
  compileChild();
  const side = tool === 'perf' ? perfSide : callgrindSide;
  const passes: [Map<string, number>, Map<string, number>][] = [];
  for (let p = 0; p < plan.passes; p++)
    // Both sides at once: counts do not depend on what else the machine runs.
    passes.push(await Promise.all([side(plan, 'bare'), side(plan, 'registry')]));
  const byScenario = new Map<string, Counted>();
  for (const { name } of plan.scenarios) {
    const values = passes.map(([b, r]) => [b.get(name), r.get(name)] as const);
    if (values.some(([b, r]) => b === undefined || r === undefined)) continue;
    const of = (i: 0 | 1) => values.map((v) => v[i] as number);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const spread = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / mean(xs);
    byScenario.set(name, {
      bare: mean(of(0)),
      registry: mean(of(1)),
      spread: values.length > 1 ? Math.max(spread(of(0)), spread(of(1))) : undefined,
    });
  }
  const how =
    tool === 'perf'
      ? 'perf stat -e instructions:u, a setup-only process subtracted, mean of the rounds'
      : `${execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim()} callgrind, main thread, best round`;
  return { tool: `${how}; node ${NODE_FLAGS.join(' ')}`, byScenario };
}
