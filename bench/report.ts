/**
 * The benchmark's table: each row compares the registry with bare XState (or
 * another baseline) measured in the same run, on wall clock (median and best
 * of N rounds) and, where the row names a scenario, on instruction counts.
 * Verdicts are computed here from the numbers, never written by hand.
 */
import { fmtBytes, markdownTable, type Stat } from './harness.js';

/** What a figure must reach: its text in the table and the check on a ratio (or a byte difference). */
export interface Target {
  text: string;
  holds: (value: number) => boolean;
}

export const atLeast = (x: number): Target => ({ text: `>= ${x}x`, holds: (v) => v >= x });
export const above = (x: number): Target => ({ text: `> ${x}x`, holds: (v) => v > x });
export const atMost = (x: number, of = ''): Target => ({
  text: `<= ${x}x${of}`,
  holds: (v) => v <= x,
});
export const atMostBytes = (b: number): Target => ({
  text: `<= +${b.toLocaleString('en-US')} B`,
  holds: (v) => v <= b,
});

/** The targets of issue 13 ("Performance at the floor"), with the exact encoding on. */
export const TARGETS = {
  spawn: atLeast(0.85),
  spawnWritten: atLeast(0.75),
  sendMemory: atLeast(0.92),
  sendFile: atLeast(0.85),
  start: atMost(2, " bare's time"),
  heapPerIdleActor: atMostBytes(400),
  codecPlainJson: atLeast(0.9),
} satisfies Record<string, Target>;

/** Above this spread (between a side's last two rounds, or two counting passes), an instruction ratio confirms nothing. */
export const MAX_SPREAD = 0.01;

/** Per-operation instruction counts of one scenario on both sides, from {@link countInstructions}. */
export interface Counted {
  bare: number;
  registry: number;
  /**
   * Largest relative difference, over both sides, between a side's last two
   * rounds (callgrind) and between identical passes (with two); undefined when
   * neither was measured (perf, one pass).
   */
  spread: number | undefined;
  /** How many counting passes the figures are the mean of. */
  passes: number;
}

/** Instruction counts by scenario name, or why there are none. */
export type Counts = { tool: string; byScenario: Map<string, Counted> } | { unavailable: string };

export interface RowSpec {
  figure: string;
  registry: Stat;
  baseline: Stat;
  /** Formats a median or best for the registry and baseline cells. */
  fmt: (v: number) => string;
  /** `ratio`: registry / baseline; `difference`: registry - baseline (bytes). */
  by: 'ratio' | 'difference';
  /** Rates are better higher; times and sizes lower (decides what "best" means, and the instruction ratio). */
  higherIsBetter: boolean;
  /** Omitted: the figure is reported, with no target. */
  target?: Target;
  /** The scenario of bench/scenarios.ts whose instruction counts back this figure. */
  counted?: string;
  /** Replaces the baseline cell (a constant baseline). */
  baselineText?: string;
  /** A row that cannot be measured in this run: this text stands in every cell. */
  unavailable?: string;
}

const specs: RowSpec[] = [];

/** Adds a row to the table, and prints a progress line to stderr. */
export function addRow(spec: RowSpec): void {
  specs.push(spec);
  const cell = (s: Stat) => `${spec.fmt(s.median)} (best ${spec.fmt(s.best)})`;
  console.error(
    `  ${spec.figure}: ${spec.unavailable ?? `${cell(spec.registry)} vs ${cell(spec.baseline)}`}`,
  );
}

const fmtRatio = (by: RowSpec['by'], v: number) =>
  by === 'ratio' ? `${v.toFixed(2)}x` : `${v >= 0 ? '+' : ''}${fmtBytes(v)}`;

/** The instruction ratio of a scenario, oriented like the row's wall-clock ratio. */
function instructionRatio(spec: RowSpec, c: Counted): number {
  return spec.higherIsBetter ? c.bare / c.registry : c.registry / c.bare;
}

/**
 * How a target fares on the instruction ratio `ratio` measured with relative
 * spread `spread`: within {@link MAX_SPREAD} the ratio is taken as exact;
 * above it, the ratio of two counts each off by up to `spread` lies between
 * `ratio * (1 - spread) / (1 + spread)` and `ratio * (1 + spread) / (1 - spread)`,
 * and only a target inside that band is unconfirmed: one the whole band meets,
 * or misses, is decided whatever the noise.
 *
 * @example
 * instructionVerdict(atLeast(0.85), 0.61, 0.02); // 'no': 0.61 ± 4% misses 0.85 anyway
 */
export function instructionVerdict(
  target: Target,
  ratio: number,
  spread: number | undefined,
): 'yes' | 'no' | 'unconfirmed' {
  if (spread === undefined || spread <= MAX_SPREAD) return target.holds(ratio) ? 'yes' : 'no';
  const lo = target.holds((ratio * (1 - spread)) / (1 + spread));
  const hi = target.holds((ratio * (1 + spread)) / (1 - spread));
  if (lo && hi) return 'yes';
  if (!lo && !hi) return 'no';
  return 'unconfirmed';
}

/**
 * The "met" cell of a row with a target: the verdict, then what the median
 * ratio (wall clock, or bytes) and, for a counted row, the instruction ratio
 * each say. Met
 * only when both hold: either alone can be flattered (the wall clock by a
 * quiet machine, the counter by work it does not see, such as waiting on the
 * disk). "unconfirmed" only when a count's spread above {@link MAX_SPREAD}
 * straddles the target and the median holds; "not counted" when a
 * counted row has no count in this run.
 *
 * @example
 * verdict(spec, 0.93, { tool: 'callgrind', byScenario }); // 'yes (median yes, instructions yes)'
 */
export function verdict(spec: RowSpec, wallMedian: number, counts: Counts): string {
  if (!spec.target) return 'n/a';
  const wallOk = spec.target.holds(wallMedian);
  if (spec.counted === undefined) return `${wallOk ? 'yes' : 'NO'} (median)`;
  const wall = `median ${wallOk ? 'yes' : 'no'}`;
  const c = 'byScenario' in counts ? counts.byScenario.get(spec.counted) : undefined;
  if (!c) return `${wallOk ? 'not counted' : 'NO'} (${wall}, instructions n/a)`;
  const instr = instructionVerdict(spec.target, instructionRatio(spec, c), c.spread);
  const instrText =
    instr === 'unconfirmed'
      ? `instructions unconfirmed: spread ${(100 * (c.spread ?? 0)).toFixed(1)}%`
      : `instructions ${instr}`;
  const met = !wallOk || instr === 'no' ? 'NO' : instr === 'unconfirmed' ? 'unconfirmed' : 'yes';
  return `${met} (${wall}, ${instrText})`;
}

const names = {
  figure: 'figure',
  registry: 'registry: median (best)',
  baseline: 'bare XState / baseline: median (best)',
  median: 'ratio of medians',
  best: 'ratio of bests',
  instructions: 'instructions ratio',
  target: 'target',
  met: 'met',
};

/** The table of every row added, with instruction ratios from `counts`. */
export function renderTable(counts: Counts): string {
  const rows = specs.map((spec) => {
    if (spec.unavailable)
      return {
        figure: spec.figure,
        registry: spec.unavailable,
        baseline: spec.unavailable,
        median: '-',
        best: '-',
        instructions: '-',
        target: spec.target?.text ?? 'report',
        met: 'n/a',
      };
    const of = (pick: 'median' | 'best') =>
      spec.by === 'ratio'
        ? spec.registry[pick] / spec.baseline[pick]
        : spec.registry[pick] - spec.baseline[pick];
    const cell = (s: Stat) =>
      s.runs.length === 1
        ? `${spec.fmt(s.median)} (1 run)`
        : `${spec.fmt(s.median)} (${spec.fmt(s.best)})`;
    let instructions = '-';
    if (spec.counted !== undefined) {
      const c = 'byScenario' in counts ? counts.byScenario.get(spec.counted) : undefined;
      instructions = c
        ? `${instructionRatio(spec, c).toFixed(2)}x`
        : 'unavailable' in counts
          ? `n/a (${counts.unavailable})`
          : 'n/a (not counted)';
    }
    return {
      figure: spec.figure,
      registry: cell(spec.registry),
      baseline: spec.baselineText ?? cell(spec.baseline),
      median: fmtRatio(spec.by, of('median')),
      best: fmtRatio(spec.by, of('best')),
      instructions,
      target: spec.target?.text ?? 'report',
      met: verdict(spec, of('median'), counts),
    };
  });
  return markdownTable(names, rows);
}

/** The instruction counts per operation behind the table, with their spread. */
export function renderCounts(counts: Counts): string {
  if ('unavailable' in counts) return `Instruction counts: n/a (${counts.unavailable}).`;
  const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
  const rows = [...counts.byScenario].map(([scenario, c]) => ({
    scenario,
    bare: fmt(c.bare),
    registry: fmt(c.registry),
    ratio: `${(c.bare / c.registry).toFixed(3)}x`,
    spread: c.spread === undefined ? 'not measured' : `${(100 * c.spread).toFixed(3)}%`,
    passes: String(c.passes),
  }));
  return `Instructions per operation (${counts.tool}):\n\n${markdownTable(
    {
      scenario: 'scenario',
      bare: 'bare XState',
      registry: 'registry',
      ratio: 'bare / registry',
      spread: 'spread (last two rounds, and passes)',
      passes: 'passes',
    },
    rows,
  )}`;
}
