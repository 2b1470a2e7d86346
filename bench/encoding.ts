/**
 * Rows E1/E2: the cost of exact state. Encoding and decoding one record with the
 * registry's codec (`encodeRecord` + `parseRecord`) against `JSON.stringify` +
 * `JSON.parse` of the same record. E1: a plain-JSON state (the fast path must
 * keep it as fast). E2: a state with Dates and Maps, which JSON would mangle
 * (quoted: plain JSON is not a correct baseline for it, only a yardstick).
 */
import { createActor, createMachine } from 'xstate';
import type { InstanceRecord } from '../dist/index.js';
import { encodeRecord, parseRecord } from '../dist/testing/index.js';
import { compare, fmtRate } from './harness.js';

type RowFn = (
  figure: string,
  registry: string,
  baseline: string,
  ratio: number,
  target: string,
  met: boolean | undefined,
) => void;

/** A record as the registry writes it, around the persisted snapshot of a real actor. */
export function sampleRecord(rich: boolean): InstanceRecord {
  const items = Array.from({ length: 20 }, (_, i) => ({
    id: `item-${i}`,
    name: `Item number ${i}`,
    qty: i * 3,
    price: 9.99 + i,
    tags: ['a', 'b', `t${i}`],
    ...(rich ? { addedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000) } : {}),
  }));
  const context: Record<string, unknown> = rich
    ? { customer: 'c-1', items, totals: new Map(items.map((it) => [it.id, it.qty])) }
    : { customer: 'c-1', items, totals: Object.fromEntries(items.map((it) => [it.id, it.qty])) };
  const machine = createMachine({ context, initial: 'open', states: { open: {} } });
  const actor = createActor(machine).start();
  const snapshot = actor.getPersistedSnapshot();
  actor.stop();
  return {
    format: 'xstate-registry/2',
    id: 'order-1',
    type: 'order',
    machineVersion: 1,
    status: 'running',
    createdAt: Date.UTC(2026, 0, 1),
    updatedAt: Date.UTC(2026, 0, 2),
    snapshot,
    timers: [
      { id: 't', source: [], target: [], event: { type: 'REMIND' }, dueAt: Date.UTC(2026, 0, 3) },
    ],
  };
}

function side(
  record: InstanceRecord,
  encode: (r: InstanceRecord) => string,
  decode: (t: string) => unknown,
) {
  return {
    run: (_: unknown, n: number) => {
      let keep: unknown;
      for (let i = 0; i < n; i++) keep = decode(encode(record));
      if (keep === undefined) throw new Error('unreachable');
    },
  };
}

/** Adds rows E1 and E2 through `row`. */
export async function encodingRows(n: number, row: RowFn): Promise<void> {
  for (const [label, rich] of [
    ['E1. encode + decode a plain-JSON record (fast path)', false],
    ['E2. encode + decode a record with Dates and Maps (exact)', true],
  ] as const) {
    const record = sampleRecord(rich);
    const [json, codec] = await compare(
      n,
      side(record, JSON.stringify, JSON.parse),
      side(record, encodeRecord, parseRecord),
    );
    const ratio = codec.rate / json.rate;
    row(
      label,
      fmtRate(codec.rate),
      fmtRate(json.rate),
      ratio,
      rich ? 'quoted' : '>= 0.9x',
      rich ? undefined : ratio >= 0.9,
    );
  }
}
