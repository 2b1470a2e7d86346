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

/** Above this spread between two counting passes, an instruction ratio confirms nothing. */
export const MAX_SPREAD = 0.01;

/** Per-operation instruction counts of one scenario on both sides, from {@link countInstructions}. */
export interface Counted {
  bare: number;
  registry: number;
  /** Largest relative difference between two identical passes, over both sides (undefined: one pass). */
  spread: number | undefined;
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
 * Met only when the best-of-N wall-clock figure and, for a counted row, the
 * instruction ratio both hold: either alone can be flattered (by a lucky round,
 * or by work the counter does not see, such as waiting on the disk).
 */
function verdict(spec: RowSpec, wall: number, counts: Counts): string {
  if (!spec.target) return 'n/a';
  const wallOk = spec.target.holds(wall);
  if (spec.counted === undefined) return wallOk ? 'yes' : 'NO';
  const c = 'byScenario' in counts ? counts.byScenario.get(spec.counted) : undefined;
  if (!c) return wallOk ? 'unconfirmed (no count)' : 'NO (wall)';
  if (c.spread !== undefined && c.spread > MAX_SPREAD)
    return wallOk
      ? `unconfirmed (count spread ${(100 * c.spread).toFixed(1)}%)`
      : `NO (wall; count spread ${(100 * c.spread).toFixed(1)}%)`;
  const instrOk = spec.target.holds(instructionRatio(spec, c));
  if (wallOk && instrOk) return 'yes';
  return `NO (${[wallOk ? '' : 'wall', instrOk ? '' : 'instructions'].filter(Boolean).join(', ')})`;
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
      met: verdict(spec, of('best'), counts),
    };
  });
  return markdownTable(names, rows);
}

/** The instruction counts per operation behind the table, with the spread between two passes. */
export function renderCounts(counts: Counts): string {
  if ('unavailable' in counts) return `Instruction counts: n/a (${counts.unavailable}).`;
  const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
  const rows = [...counts.byScenario].map(([scenario, c]) => ({
    scenario,
    bare: fmt(c.bare),
    registry: fmt(c.registry),
    ratio: `${(c.bare / c.registry).toFixed(3)}x`,
    spread: c.spread === undefined ? 'one pass' : `${(100 * c.spread).toFixed(3)}%`,
  }));
  return `Instructions per operation (${counts.tool}):\n\n${markdownTable(
    {
      scenario: 'scenario',
      bare: 'bare XState',
      registry: 'registry',
      ratio: 'bare / registry',
      spread: 'spread of two passes',
    },
    rows,
  )}`;
}
