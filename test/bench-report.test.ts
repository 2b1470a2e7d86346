import { describe, expect, it } from 'vitest';
import { settled, summarize } from '../bench/harness.js';
import {
  addRow,
  atLeast,
  atMost,
  type Counts,
  instructionVerdict,
  type RowSpec,
  renderTable,
  verdict,
} from '../bench/report.js';

const rate = (v: number) => summarize([v], true);
const row = (extra: Partial<RowSpec> = {}): RowSpec => ({
  figure: 'f',
  registry: rate(90),
  baseline: rate(100),
  fmt: String,
  by: 'ratio',
  higherIsBetter: true,
  target: atLeast(0.85),
  counted: 's',
  ...extra,
});
const counted = (bare: number, registry: number, spread: number | undefined): Counts => ({
  tool: 't',
  byScenario: new Map([['s', { bare, registry, spread, passes: 1 }]]),
});

describe('bench verdicts (the met column)', () => {
  it('is met only when the median and the instruction ratio both hold, and says which failed', () => {
    expect(verdict(row(), 0.9, counted(90, 100, 0))).toBe('yes (median yes, instructions yes)');
    expect(verdict(row(), 0.8, counted(90, 100, 0))).toBe('NO (median no, instructions yes)');
    expect(verdict(row(), 0.9, counted(61, 100, 0))).toBe('NO (median yes, instructions no)');
    expect(verdict(row(), 0.8, counted(61, 100, 0))).toBe('NO (median no, instructions no)');
  });

  it('judges the wall clock on the median, not on the best round', () => {
    addRow(row({ registry: summarize([70, 80, 95], true), baseline: rate(100) }));
    // The best round (0.95x) would pass; the median (0.80x) does not.
    const line = renderTable(counted(90, 100, 0))
      .split('\n')
      .at(-1);
    expect(line).toContain(
      '| 0.80x | 0.95x | 0.90x | >= 0.85x | NO (median no, instructions yes) |',
    );
  });

  it('says unconfirmed only for a spread that straddles the target', () => {
    // 0.61x with 2% spread misses 0.85 whatever the noise: decided, not unconfirmed.
    expect(verdict(row(), 0.9, counted(61, 100, 0.02))).toBe('NO (median yes, instructions no)');
    // 0.95x with 2% spread meets 0.85 whatever the noise.
    expect(verdict(row(), 0.9, counted(95, 100, 0.02))).toBe('yes (median yes, instructions yes)');
    // 0.86x with 2% spread may be 0.83x or 0.89x.
    expect(verdict(row(), 0.9, counted(86, 100, 0.02))).toBe(
      'unconfirmed (median yes, instructions unconfirmed: spread 2.0%)',
    );
    // A spread within MAX_SPREAD (1%) is taken as exact.
    expect(instructionVerdict(atLeast(0.85), 0.851, 0.009)).toBe('yes');
    expect(instructionVerdict(atMost(2), 2.01, 0.02)).toBe('unconfirmed');
    expect(instructionVerdict(atMost(2), 2.5, 0.02)).toBe('no');
  });

  it('does not call a row without a count unconfirmed', () => {
    expect(verdict(row(), 0.9, { unavailable: 'no counter' })).toBe(
      'not counted (median yes, instructions n/a)',
    );
    expect(verdict(row(), 0.8, { unavailable: 'no counter' })).toBe(
      'NO (median no, instructions n/a)',
    );
    expect(verdict(row({ counted: undefined }), 0.9, counted(1, 1, 0))).toBe('yes (median)');
    expect(verdict(row({ target: undefined }), 0.9, counted(1, 1, 0))).toBe('n/a');
  });
});

describe('bench count rounds (settled)', () => {
  it('settles when a round repeats the one before it, or the one before that', () => {
    expect(settled([80e6, 40e6, 27.04e6, 27.03e6], 0.001)).toBe(1);
    // Alternating rounds (a collection every other round): period 2.
    expect(settled([39e6, 37.72e6, 31.36e6, 37.72e6], 0.001)).toBe(2);
    expect(settled([39e6, 37.72e6, 31.36e6, 36e6], 0.001)).toBeUndefined();
    expect(settled([27e6], 0.001)).toBeUndefined();
    expect(settled([], 0.001)).toBeUndefined();
  });
});
