import { describe, expect, it } from 'vitest';
import { chooseEncoding, decodeRich, encodeRich } from '../src/codec.js';

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
