/**
 * One side (bare XState or the registry) of the counted scenarios, run by
 * bench/instructions.ts under an instruction counter, compiled to plain
 * JavaScript (no loader whose caches would move the counts).
 * Usage: node --expose-gc count-child.js '<ChildPlan as JSON>'
 *
 * Each scenario runs in rounds (setup, timed part, teardown), as the
 * wall-clock rows do. Around each timed part it calls `process.resourceUsage()`,
 * which is uv_getrusage: callgrind, started with --dump-before=uv_getrusage,
 * writes the counts since the previous mark at each, so the even-numbered
 * dumps hold exactly the timed parts; setup and teardown fall outside them.
 *
 * Before a scenario's rounds, the child sets up and runs one more context of
 * the side (its `resident`) and keeps it until the rounds end, as a server
 * keeps its other actors. Without it, the full collection before each round
 * frees every object of the round before, the hidden classes with them, and
 * V8 throws away the optimized code that embeds those classes ("weak
 * objects"): each round then recompiled the send path under --predictable
 * (on the main thread, so counted), the rounds never repeated, and a
 * send-1-memory round read about 47,000 instructions per send where a
 * long-lived registry spends about 23,000. A 100,000-operation wall-clock
 * round pays that recompilation once; 1,000 counted operations paid it whole.
 *
 * With `settle`, the child reads each round's count back from callgrind's dump
 * (between the marks, so the reading is not counted) and stops a scenario once
 * a round repeats the one before it, or the one before that, within
 * `settle.within` (see {@link settled}): under --predictable the
 * optimizing compiler runs on the main thread, so the first rounds carry its
 * work, and the rounds after it has installed its code repeat exactly.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { codecSamples, loadCodec } from './codec.js';
import { gc, keepResident, settled } from './harness.js';
import { type ScenarioContext, scenario } from './scenarios.js';

export interface ChildPlan {
  side: 'bare' | 'registry';
  /** `rounds`: exactly that many, or with `settle` at most that many. */
  /** `key`: what the results call it (default `name`): one scenario may run at two sizes. */
  scenarios: { name: string; n: number; rounds: number; key?: string }[];
  storedDir?: string;
  /** Set up but leave the timed part out (the baseline a whole-process count subtracts). */
  skipRun?: boolean;
  /** callgrind's --callgrind-out-file, for `settle` to read the dumps back. */
  dumpFile?: string;
  /** Stop a scenario's rounds once they repeat within `within` (relative; see {@link settled}), after `minRounds`. */
  settle?: { within: number; minRounds: number };
}

/** What the child ran: per scenario, its rounds, and (with `settle`) the count of each. */
export interface ChildRan {
  /** The scenario's `key` (its name unless it runs at two sizes). */
  name: string;
  rounds: number;
  counts?: number[];
}

const plan = JSON.parse(process.argv[2] ?? '') as ChildPlan;
let marks = 0;
const mark = () => {
  process.resourceUsage();
  marks++;
};

/** The main thread's count in callgrind's dump `k` ("summary:" is in its first lines). */
function dumped(k: number): number {
  const fd = openSync(`${plan.dumpFile}.${k}-01`, 'r');
  try {
    const head = Buffer.alloc(4096);
    const got = readSync(fd, head, 0, head.length, 0);
    const total = /^summary: (\d+)/m.exec(head.toString('latin1', 0, got))?.[1];
    if (total === undefined) throw new Error(`no summary in callgrind dump ${k}`);
    return Number(total);
  } finally {
    closeSync(fd);
  }
}

const ctx: ScenarioContext = plan.storedDir === undefined ? {} : { storedDir: plan.storedDir };
if (plan.scenarios.some((s) => s.name.startsWith('encode') || s.name.startsWith('decode'))) {
  const codec = await loadCodec();
  if (codec) {
    // Not a spread: it would read `list`, and build the sample this child never uses.
    const { plain, rich } = await codecSamples();
    ctx.codec = { codec, plain, rich };
  }
}

const ran: ChildRan[] = [];
for (const { name, n, rounds, key = name } of plan.scenarios) {
  const sides = scenario(name, ctx);
  if (!sides) continue;
  const side = sides[plan.side === 'bare' ? 0 : 1];
  const drop = await keepResident(side, n);
  const counts: number[] = [];
  let r = 0;
  while (r < rounds) {
    const c = await side.setup?.();
    gc();
    mark();
    if (!plan.skipRun) await side.run(c, n);
    mark();
    r++;
    if (plan.settle) {
      counts.push(dumped(marks));
      if (r >= plan.settle.minRounds && settled(counts, plan.settle.within) !== undefined) {
        await side.teardown?.(c);
        break;
      }
    }
    await side.teardown?.(c);
  }
  await drop();
  ran.push({ name: key, rounds: r, ...(plan.settle ? { counts } : {}) });
}
process.stdout.write(`${JSON.stringify({ ran })}\n`);
process.exit(0);
