import { describe, expect, it } from 'vitest';
import { chooseEncoding, decodeRich, encodeRich } from '../src/codec.js';
import { encodeRecord, parseRecord } from '../src/record.js';

const state = (context: unknown, timers: unknown[] = []) => ({
  snapshot: { status: 'active', value: 'a', output: undefined, error: undefined, context },
  timers,
});

describe('chooseEncoding', () => {
  it('keeps a plain-JSON state, with XState undefined fields, on the json fast path', () => {
    expect(chooseEncoding(state({ a: [1, 'x', null, { b: true }] }))).toBe('json');
    expect(
      chooseEncoding({
        snapshot: {
          value: 'a',
          context: {},
          children: { kid: { src: 'kid', systemId: undefined, snapshot: { output: undefined } } },
        },
        timers: [{ id: 't', source: [], target: [], event: { type: 'X' }, dueAt: 1 }],
      }),
    ).toBe('json');
  });

  const shared = { s: 1 };
  // biome-ignore lint/suspicious/noSparseArray: a hole is the point
  const hole = [1, , 2];
  it.each([
    ['undefined value', { u: undefined }],
    ['hole', { hole }],
    ['NaN', { n: Number.NaN }],
    ['-0', { z: -0 }],
    ['Infinity', { i: Number.POSITIVE_INFINITY }],
    ['Date', { d: new Date(0) }],
    ['Map', { m: new Map() }],
    ['BigInt', { b: 1n }],
    ['shared reference', { a: shared, b: shared }],
    ['null prototype', { o: Object.create(null) }],
    ['symbol key', { [Symbol('k')]: 1 }],
    ['function', { f: () => {} }],
  ])('sends a %s to the rich encoding', (_name, context) => {
    expect(chooseEncoding(state(context))).toBe('devalue');
  });
  // The walk reads prototypes through the `__proto__` accessor (see plain-json.ts):
  // an own `__proto__` that claims Object.prototype must not let a class through.
  class Point {
    x = 1;
  }
  const lying = (value: object, enumerable: boolean) =>
    Object.defineProperty(value, '__proto__', { value: Object.prototype, enumerable });
  it.each([
    ['a class instance with an own enumerable __proto__', lying(new Point(), true)],
    ['a class instance with an own hidden __proto__', lying(new Point(), false)],
    ['a null-prototype object with an own __proto__', lying(Object.create(null), false)],
    [
      'an array subclass with an own hidden __proto__',
      lying(new (class extends Array {})(), false),
    ],
    ['a parsed own __proto__ key', JSON.parse('{"__proto__":{"a":1}}')],
  ])('does not take %s for plain JSON', (_name, value) => {
    expect(chooseEncoding(state({ value }))).toBe('devalue');
    expect(chooseEncoding(state([value]))).toBe('devalue');
  });
  it('looks into delayed event payloads', () => {
    expect(chooseEncoding(state({}, [{ event: { type: 'X', at: new Date(0) } }]))).toBe('devalue');
  });
});

describe('encodeRich / decodeRich', () => {
  it('refuses a symbol key, naming where', () => {
    expect(() => encodeRich(state({ a: { [Symbol('k')]: 1 } }), 'i')).toThrow(
      expect.objectContaining({
        code: 'NOT_SERIALIZABLE',
        details: { id: 'i', path: 'context.a' },
      }),
    );
  });
  it('keeps an Error with its class, cause and own fields', () => {
    const error = Object.assign(new RangeError('out', { cause: new Error('root') }), { code: 'E' });
    const back = decodeRich(JSON.parse(encodeRich(state({ error }))));
    const copy = (back.snapshot as { context: { error: RangeError & { code: string } } }).context
      .error;
    expect(copy).toBeInstanceOf(RangeError);
    expect(copy).toMatchObject({ message: 'out', code: 'E', stack: error.stack });
    expect(copy.cause).toMatchObject({ message: 'root' });
  });
  it.each([
    ['not an array', { a: 1 }],
    ['a dangling index', [{ snapshot: 7, timers: 8 }]],
    ['an unknown type', [['Bogus', 1]]],
    ['no timers', [{ snapshot: 1 }, {}]],
    ['a __proto__ key', JSON.parse('[{"snapshot":1,"timers":2,"__proto__":1},{},[]]')],
  ])('throws on %s', (_name, parsed) => {
    expect(() => decodeRich(parsed)).toThrow();
  });
});

/** A record around `context` (and optionally a snapshot tweak), as the registry writes it. */
const record = (context: unknown, snapshot: Record<PropertyKey, unknown> = {}) => ({
  format: 'xstate-registry/2' as const,
  id: 'i',
  type: 't',
  machineVersion: 1,
  status: 'running' as const,
  createdAt: 1,
  updatedAt: 2,
  snapshot: { status: 'active', value: 'a', context, children: {}, ...snapshot },
  timers: [],
});
const contextAfter = (context: unknown) =>
  (parseRecord(encodeRecord(record(context))).snapshot as { context: { v: unknown } }).context.v;
const refused = (path: string, message: RegExp) =>
  expect.objectContaining({
    code: 'NOT_SERIALIZABLE',
    details: { id: 'i', path },
    message: expect.stringMatching(message),
  });

describe('values that would change silently are refused, naming the path', () => {
  class Sub extends Map<string, number> {}
  class ArraySub extends Array {}
  class DateSub extends Date {}
  const lastIndex = /a/g;
  lastIndex.lastIndex = 1;
  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 20_000; i++) deep = { deep };
  let deepArray: unknown[] = [];
  for (let i = 0; i < 20_000; i++) deepArray = [deepArray];
  it.each([
    ['an array with a named property', Object.assign([1, 2], { label: 'x' }), /label/],
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    ['an array with a hole and a named property', Object.assign([1, , 2], { l: 1 }), /'l'/],
    ['an array with a symbol key', Object.assign([1], { [Symbol('s')]: 1 }), /Symbol\(s\)/],
    [
      'a non-enumerable property',
      Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false }),
      /hidden/,
    ],
    [
      'a non-enumerable symbol key',
      Object.defineProperty({ a: 1 }, Symbol('h'), { value: 2, enumerable: false }),
      /Symbol\(h\)/,
    ],
    [
      'an object whose prototype is a null-prototype object',
      Object.create(Object.create(null)),
      /prototype/,
    ],
    ['an object inheriting from a plain object', Object.create({ a: 1 }), /prototype/],
    ['a Map subclass', new Sub([['a', 1]]), /Sub/],
    ['an Array subclass', ArraySub.from([1]), /ArraySub/],
    ['a Date subclass', new DateSub(0), /DateSub/],
    ['a Node Buffer', Buffer.from('ab'), /Buffer/],
    ['an object posing as a Map', { [Symbol.toStringTag]: 'Map' }, /Symbol\(Symbol.toStringTag\)/],
    ['a Map prototype without a Map', Object.create(Map.prototype), /Map/],
    ['a Map with its own property', Object.assign(new Map(), { x: 1 }), /'x'/],
    ['a Set with its own property', Object.assign(new Set(), { x: 1 }), /'x'/],
    ['a Date with its own property', Object.assign(new Date(0), { x: 1 }), /'x'/],
    ['a RegExp part-way through a match', lastIndex, /lastIndex/],
    ['a typed array with its own property', Object.assign(new Uint8Array(2), { x: 1 }), /'x'/],
    ['a boxed number with its own property', Object.assign(new Number(1), { x: 1 }), /'x'/],
    ['a class instance', new (class Customer {})(), /Customer/],
  ])('%s', (_name, v, message) => {
    expect(() => contextAfter({ v })).toThrow(refused('context.v', message));
  });

  let causes: unknown = 'root';
  for (let i = 0; i < 20_000; i++) causes = new Error('e', { cause: causes });
  let aggregates: unknown = 'root';
  for (let i = 0; i < 20_000; i++) aggregates = new AggregateError([aggregates], 'e');
  it.each([
    ['an object', deep, 'context.v.deep'],
    ['an array', deepArray, 'context.v[0]'],
    // Named from the cause chain, which the path once skipped: "(the state itself)".
    ['an Error cause chain', causes, 'context.v.cause'],
    ['an AggregateError chain', aggregates, 'context.v.errors'],
  ])('%s nested 20,000 deep: refused, the stack does not overflow', (_name, v, path) => {
    expect(() => contextAfter({ v })).toThrow(refused(path, /deeper than 1000 levels/));
  });

  it("a symbol key in any part the user fills: output, error, a child's context, an event", () => {
    const sym = { [Symbol('s')]: 1 };
    expect(() => encodeRecord(record({}, { output: sym }))).toThrow(
      refused('output', /Symbol\(s\)/),
    );
    expect(() => encodeRecord(record({}, { error: { e: sym } }))).toThrow(
      refused('error.e', /Symbol\(s\)/),
    );
    const child = { kid: { src: 'k', snapshot: { value: 'a', context: { c: sym } } } };
    expect(() => encodeRecord(record({}, { children: child }))).toThrow(
      refused('children.kid.snapshot.context.c', /Symbol\(s\)/),
    );
    const timer = { id: 't', source: [], target: [], event: { type: 'X', p: sym }, dueAt: 1 };
    expect(() => encodeRecord({ ...record({}), timers: [timer] })).toThrow(
      refused('timers[0].event.p', /Symbol\(s\)/),
    );
  });
});

describe('value kinds that come back exactly', () => {
  const key = { k: 1 };
  it.each([
    ['a null-prototype object', Object.assign(Object.create(null), { a: 1 })],
    ['boxed primitives', [new Number(1), new String('ab'), new Boolean(false), Object(2n)]],
    [
      '-0 inside a Map and a Set',
      new Map<unknown, unknown>([
        ['z', -0],
        ['s', new Set([1, -0.5])],
      ]),
    ],
    ['a Map with object keys, shared', { map: new Map([[key, 1]]), key }],
    ['an invalid Date', new Date(Number.NaN)],
    ['BigInt typed arrays', [new BigInt64Array([1n, -2n]), new BigUint64Array([2n ** 64n - 1n])]],
    ['a very sparse array', Object.assign([], { 1000000: 'x' })],
    ['a RegExp', /a(b)?/dgimsuy],
    ['a frozen object, as its data', Object.freeze({ a: 1 })],
    ['an object nested 1000 deep', Array.from({ length: 999 }).reduce((o) => ({ o }), {})],
  ])('%s', (_name, v) => {
    const back = contextAfter({ v });
    expect(back).toStrictEqual(v);
    expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(v));
  });
  it('a getter is read when written (by the check and the encoder) and comes back as a data property (as structuredClone does)', () => {
    let reads = 0;
    const v = {
      get total() {
        reads++;
        return 3;
      },
    };
    const back = contextAfter({ v }) as { total: number };
    expect(reads).toBeGreaterThan(0);
    expect(Object.getOwnPropertyDescriptor(back, 'total')).toMatchObject({
      value: 3,
      writable: true,
    });
  });
  it('-0 in a Map value keeps its sign; the shared Map key is one object', () => {
    const back = contextAfter({
      v: { m: new Map([['z', -0]]), map: new Map([[key, 1]]), key },
    }) as {
      m: Map<string, number>;
      map: Map<object, number>;
      key: object;
    };
    expect(Object.is(back.m.get('z'), -0)).toBe(true);
    expect(back.map.get(back.key)).toBe(1);
  });
});
