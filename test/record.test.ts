import { afterEach, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { createRegistry, MemoryStore } from '../src/index.js';
import {
  createTestRegistry,
  parseRecord,
  safeJsonParse,
  TestClock,
  type TestRegistry,
} from '../src/testing/index.js';

describe('safeJsonParse', () => {
  it.each([
    ['literal', '{"a":{"__proto__":{"polluted":true}},"b":1}'],
    ['escaped', '{"a":{"\\u005f_proto__":{"polluted":true}},"b":1}'],
    ['fully escaped', '{"a":{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}},"b":1}'],
  ])('drops %s __proto__ keys', (_name, text) => {
    const value = safeJsonParse(text) as { a: object; b: number };
    expect(Object.hasOwn(value.a, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(value.a)).toBe(Object.prototype);
    expect(value.b).toBe(1);
    expect(Object.assign({}, value.a)).toEqual({});
  });
});

describe('parseRecord', () => {
  const good = {
    format: 'xstate-registry/1',
    id: 'a',
    type: 't',
    machineVersion: 1,
    status: 'running',
    createdAt: 1,
    updatedAt: 2,
    snapshot: { value: 'x' },
    timers: [],
  };
  it('accepts a well-formed record', () => {
    expect(parseRecord(JSON.stringify(good))).toEqual(good);
  });
  it('accepts a timer due past any date (the machine chose a delay that long)', () => {
    // Before, this record (which the registry itself wrote) was refused as corrupt.
    const far = {
      ...good,
      timers: [{ id: 't', source: [], target: [], event: { type: 'X' }, dueAt: 1e300 }],
    };
    expect(parseRecord(JSON.stringify(far))).toEqual(far);
  });
  it.each([
    ['format', { format: 'other' }],
    ['id', { id: '' }],
    ['type', { type: 5 }],
    ['version', { machineVersion: 0 }],
    ['status', { status: 'zombie' }],
    ['times', { createdAt: 'yesterday' }],
    ['snapshot', { snapshot: null }],
    ['timers', { timers: {} }],
    ['timer', { timers: [{ id: 't', source: [], target: [], event: {}, dueAt: 1 }] }],
    ['createdAt out of range', { createdAt: 1e300 }],
    ['negative updatedAt', { updatedAt: -5 }],
    [
      'timer due time that is not a number',
      { timers: [{ id: 't', source: [], target: [], event: { type: 'X' }, dueAt: 'soon' }] },
    ],
    [
      'timer due time of null (NaN or Infinity written as plain JSON)',
      { timers: [{ id: 't', source: [], target: [], event: { type: 'X' }, dueAt: null }] },
    ],
    [
      'timer uncancellable flag',
      {
        timers: [
          { id: 't', source: [], target: [], event: { type: 'X' }, dueAt: 1, uncancellable: 'yes' },
        ],
      },
    ],
    [
      'timer path holding an object (list() then threw a TypeError)',
      { timers: [{ id: 't', source: [{}], target: [], event: { type: 'X' }, dueAt: 1 }] },
    ],
    [
      'timer target holding a number',
      { timers: [{ id: 't', source: [], target: [5], event: { type: 'X' }, dueAt: 1 }] },
    ],
    ['stopReason', { stopReason: 42 }],
    ['error', { error: { message: 1 } }],
    ['encoding', { format: 'xstate-registry/2', encoding: 'yaml' }],
    ['encoded state', { format: 'xstate-registry/2', encoding: 'devalue', state: [[5, 9]] }],
    ['newer format', { format: 'xstate-registry/3' }],
  ])('rejects a bad %s with CORRUPT_RECORD', (_name, patch) => {
    expect(() => parseRecord(JSON.stringify({ ...good, ...patch }))).toThrow(
      expect.objectContaining({ code: 'CORRUPT_RECORD' }),
    );
  });
});

describe('validation at load', () => {
  let r: TestRegistry<any> | undefined;
  afterEach(() => r?.close().catch(() => {}));
  const m = createMachine({ initial: 'a', states: { a: {} } });
  const record = (id: string, patch: object) =>
    JSON.stringify({
      format: 'xstate-registry/2',
      encoding: 'json',
      id,
      type: 'm',
      machineVersion: 1,
      status: 'running',
      createdAt: 1,
      updatedAt: 2,
      snapshot: { status: 'active', value: 'a', historyValue: {}, context: {}, children: {} },
      timers: [],
      ...patch,
    });

  it('a record with an out-of-range time is set aside with its reason, and list() still works', async () => {
    const store = new MemoryStore();
    store.inject('good', record('good', {}));
    store.inject('far', record('far', { createdAt: 1e300 }));
    store.inject('done-far', record('done-far', { status: 'done', updatedAt: 9e15 }));
    r = await createTestRegistry({ machines: { m }, store });
    expect([...store.quarantined.keys()].sort()).toEqual(['done-far', 'far']);
    expect(store.quarantined.get('far')?.reason).toMatch(/^CORRUPT_RECORD: .*createdAt\/updatedAt/);
    const page = await r.list();
    expect(page.items.map((s) => s.id)).toEqual(['good']);
    expect(page.items[0]?.createdAt).toBe('1970-01-01T00:00:00.001Z');
  });

  // devalue's unflatten reads a reference that names no entry (out of range,
  // fractional, or a hole's -2 outside an array) as undefined: a damaged
  // record loaded with `n` silently gone instead of being set aside.
  it.each([
    ['negative', -9],
    ['fractional', 1.5],
    ["a hole's -2 in an object", -2],
    ['past the end', 1e9],
  ])(
    'a devalue record with a reference that is %s is set aside as corrupt, not loaded with undefined',
    async (_name, ref) => {
      const ctx = createMachine({
        types: {} as { context: { at: Date; n: number; m: Map<string, number> } },
        initial: 'a',
        context: { at: new Date(0), n: 5, m: new Map([['k', 7]]) },
        states: { a: {} },
      });
      const source = new MemoryStore();
      const first = await createTestRegistry({ machines: { m: ctx }, store: source });
      await first.spawnSingleton('m', 'x');
      await first.close();
      const text = source.peek('x') as string;
      const stored = JSON.parse(text) as { encoding: string; state: unknown[] };
      expect(stored.encoding).toBe('devalue');
      const context = stored.state.find(
        (e) => !!e && typeof e === 'object' && !Array.isArray(e) && 'n' in e,
      ) as { n: unknown };
      const map = stored.state.find((e) => Array.isArray(e) && e[0] === 'Map') as unknown[];
      const store = new MemoryStore();
      store.inject('x', text);
      store.inject(
        'y',
        JSON.stringify({
          ...stored,
          id: 'y',
          state: stored.state.map((e) => (e === context ? { ...context, n: ref } : e)),
        }),
      );
      store.inject(
        'z',
        JSON.stringify({
          ...stored,
          id: 'z',
          state: stored.state.map((e) => (e === map ? ['Map', map[1], ref] : e)),
        }),
      );
      r = await createTestRegistry({ machines: { m: ctx }, store });
      expect([...store.quarantined.keys()].sort()).toEqual(['y', 'z']);
      expect(store.quarantined.get('y')?.reason).toMatch(
        /^CORRUPT_RECORD: .*refers to .*names no value/,
      );
      // The untouched record loads exactly.
      expect((await r.spawnSingleton('m', 'x')).getSnapshot().context).toEqual({
        at: new Date(0),
        n: 5,
        m: new Map([['k', 7]]),
      });
    },
  );

  // A child ID that every object inherits was taken for a child: the timer,
  // sent there when it fell due, threw from a timer callback and the process died.
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'a delayed event addressed to a child named %j that does not exist is dropped and reported, never delivered',
    async (child) => {
      const store = new MemoryStore();
      const timer = (dueAt: number) => ({
        id: 't',
        source: [],
        target: [child],
        event: { type: 'X' },
        dueAt,
      });
      store.inject('overdue', record('overdue', { timers: [timer(0)] }));
      store.inject('later', record('later', { timers: [timer(1_060_000)] }));
      store.inject('bystander', record('bystander', {}));
      const clock = new TestClock(1_000_000);
      const registry = createRegistry({ machines: { m }, store, clock });
      const errors: string[] = [];
      registry.on('error', (e) => errors.push(e.message));
      await registry.start();
      clock.increment(120_000);
      expect((await registry.list()).items.map((s) => [s.id, s.status])).toEqual([
        ['bystander', 'running'],
        ['later', 'running'],
        ['overdue', 'running'],
      ]);
      await registry.close();
      expect(errors.filter((e) => /no longer exists/.test(e))).toHaveLength(2);
    },
  );
});
