import type { InstanceRecord } from '../record.js';
import { jsonCopy } from '../status.js';

/**
 * Where the CLI writes: standard output and standard error.
 *
 * @example
 * ```ts
 * const io: CliOutput = { out: console.log, err: console.error };
 * ```
 */
export interface CliOutput {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * The JSON view of one record that `show` and `ls --json` print: times as ISO
 * strings and timers as their event type, so the line reads without the codec.
 *
 * @example
 * ```ts
 * io.out(JSON.stringify(view(found)));
 * ```
 */
/** A due time as a date; one past any date (a delay of 1e20 ms) as its number; an infinite one as 'never'. */
function dueText(ms: number): string | number {
  if (ms === Number.POSITIVE_INFINITY) return 'never';
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : ms;
}

/**
 * A time as an ISO date, or as what it is when no date holds it: a tampered
 * history entry's `at` of 1e300, or a set-aside file named with month 13,
 * made `toISOString()` throw and the whole command fail.
 *
 * @example
 * ```ts
 * timeText(0); // '1970-01-01T00:00:00.000Z'
 * timeText(1e300); // '1e+300'
 * ```
 */
export function timeText(ms: unknown): string {
  return typeof ms === 'number' && Math.abs(ms) <= 8.64e15
    ? new Date(ms).toISOString()
    : String(ms);
}

export function view({ record }: { record: InstanceRecord }) {
  const snapshot = record.snapshot as { value?: unknown; context?: unknown; output?: unknown };
  return {
    id: record.id,
    type: record.type,
    status: record.status,
    // As getStatus shows them: a BigInt made JSON.stringify throw, a Map showed as {}.
    value: jsonCopy(snapshot.value),
    context: jsonCopy(snapshot.context),
    ...(snapshot.output !== undefined ? { output: jsonCopy(snapshot.output) } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(record.stopReason !== undefined ? { stopReason: record.stopReason } : {}),
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
    timers: record.timers.map((t) => ({
      event: t.event.type,
      dueAt: dueText(t.dueAt),
    })),
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const IN_CELL = /[\t\n]/g;
const visible = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * What reaches a terminal: IDs (C1 controls are valid in one), and the type,
 * reason or file name of a tampered record, could carry escape sequences that
 * retitle, clear or rewrite the operator's screen. They print as `\u001b`
 * instead, which JSON also reads back as the same string.
 *
 * @example
 * ```ts
 * const io = terminalSafe({ out: console.log, err: console.error });
 * ```
 */
export function terminalSafe(io: CliOutput): CliOutput {
  return {
    out: (line) => io.out(line.replace(ACTIVE, visible)),
    err: (line) => io.err(line.replace(ACTIVE, visible)),
  };
}

/**
 * Lays rows out in aligned columns for the human (non `--json`) output.
 *
 * @example
 * ```ts
 * for (const line of table([['ID', 'STATUS'], ['order-1', 'running']])) io.out(line);
 * ```
 */
export function table(rows: string[][]): string[] {
  // A newline or tab inside a cell would fake a row or a column of its own;
  // the rest is escaped here too, so widths are those of what prints.
  rows = rows.map((r) => r.map(cell));
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * A value as JSON cut to 60 characters, so one wide context keeps a table readable.
 *
 * @example
 * ```ts
 * short({ step: 3 }); // '{"step":3}'
 * ```
 */
export const short = (v: unknown) => cut(JSON.stringify(v) ?? '');

/**
 * Text cut to `max` characters, so one wide field keeps a table readable.
 *
 * @example
 * ```ts
 * cut('x'.repeat(100)); // 57 x's and '...'
 * ```
 */
export const cut = (text: string, max = 60) =>
  text.length > max ? `${text.slice(0, max - 3)}...` : text;

/**
 * One field of a line of fields: a tab or newline in it would fake a field or
 * a line of its own (an event type sent over HTTP can hold both), and a
 * control character would reach the terminal; all print as `\u0009` and the like.
 *
 * @example
 * ```ts
 * cell('A\tB'); // 'A\\u0009B'
 * ```
 */
export const cell = (text: string) => text.replace(IN_CELL, visible).replace(ACTIVE, visible);
