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
 */
import { codecSamples, loadCodec } from './codec.js';
import { gc } from './harness.js';
import { type ScenarioContext, scenario } from './scenarios.js';

export interface ChildPlan {
  side: 'bare' | 'registry';
  scenarios: { name: string; n: number; rounds: number }[];
  storedDir?: string;
  /** Set up but leave the timed part out (the baseline a whole-process count subtracts). */
  skipRun?: boolean;
}

const plan = JSON.parse(process.argv[2] ?? '') as ChildPlan;
const mark = () => void process.resourceUsage();

const ctx: ScenarioContext = plan.storedDir === undefined ? {} : { storedDir: plan.storedDir };
if (plan.scenarios.some((s) => s.name.startsWith('encode') || s.name.startsWith('decode'))) {
  const codec = await loadCodec();
  if (codec) ctx.codec = { codec, ...(await codecSamples()) };
}

const ran: { name: string; rounds: number }[] = [];
for (const { name, n, rounds } of plan.scenarios) {
  const sides = scenario(name, ctx);
  if (!sides) continue;
  const side = sides[plan.side === 'bare' ? 0 : 1];
  for (let r = 0; r < rounds; r++) {
    const c = await side.setup?.();
    gc();
    mark();
    if (!plan.skipRun) await side.run(c, n);
    mark();
    await side.teardown?.(c);
  }
  ran.push({ name, rounds });
}
process.stdout.write(`${JSON.stringify({ ran })}\n`);
process.exit(0);
