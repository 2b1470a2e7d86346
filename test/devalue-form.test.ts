/**
 * devalue's unflatten reads a reference that names no entry as `undefined`;
 * decodeRich must refuse such a form, in every place a form holds references.
 */
import { describe, expect, it } from 'vitest';
import { decodeRich, encodeRich } from '../src/codec.js';

const nullProto = Object.assign(Object.create(null) as object, { k: 'v' });
const sparse: unknown[] = [];
sparse[3] = 'v';
const context = {
  set: new Set(['v']),
  map: new Map([['k', 'v']]),
  nullProto,
  sparse,
  error: new Error('v'),
  boxed: Object('v') as string,
  list: ['v'],
  object: { k: 'v' },
};

/** The encoded form, and the index of the entry holding the string 'v'. */
function encoded(): { form: unknown[]; v: number } {
  const form = JSON.parse(
    encodeRich({ snapshot: { value: 'a', context }, timers: [] }),
  ) as unknown[];
  return { form, v: form.indexOf('v') };
}

/** The form with every reference to 'v' in the entries `pick` chooses replaced by `ref`. */
function broken(pick: (entry: unknown) => boolean, ref: number): unknown[] {
  const { form, v } = encoded();
  return form.map((entry) => {
    if (!pick(entry)) return entry;
    if (Array.isArray(entry)) return entry.map((x) => (x === v ? ref : x));
    return Object.fromEntries(
      Object.entries(entry as object).map(([k, x]) => [k, x === v ? ref : x]),
    );
  });
}

const tagged = (tag: string) => (e: unknown) => Array.isArray(e) && e[0] === tag;

describe('decodeRich refuses references that name no value', () => {
  it('decodes the intact form exactly', () => {
    const { snapshot } = decodeRich(encoded().form) as { snapshot: { context: unknown } };
    expect(snapshot.context).toEqual(context);
  });

  it.each([
    ['a Set', tagged('Set')],
    ['a Map', tagged('Map')],
    ['a null-prototype object', tagged('null')],
    ['a sparse array', (e: unknown) => Array.isArray(e) && e[0] === -7],
    [
      'a plain array',
      (e: unknown) => Array.isArray(e) && e.length === 1 && typeof e[0] === 'number' && e[0] >= 0,
    ],
    ['an object', (e: unknown) => !!e && typeof e === 'object' && !Array.isArray(e) && 'k' in e],
  ])('in %s', (name, pick) => {
    // -2 is a hole: a sound reference among a plain array's items only.
    for (const ref of name === 'a plain array' ? [-9, 0.5, 1e6] : [-9, -2, 0.5, 1e6]) {
      const form = broken(pick, ref);
      expect(form).not.toEqual(encoded().form);
      expect(() => decodeRich(form), `reference ${ref}`).toThrow(/names no value|Invalid input/);
    }
  });

  it("in an Error's parts and a boxed primitive", () => {
    const { form } = encoded();
    const errorAt = form.findIndex(tagged('Error'));
    const boxAt = form.findIndex(tagged('Object'));
    for (const [at, ref] of [
      [errorAt, -9],
      [errorAt, 0.5],
      [boxAt, -2],
    ] as const) {
      const copy = [...form];
      copy[at] = [(form[at] as unknown[])[0], ref];
      expect(() => decodeRich(copy), `entry ${at}, reference ${ref}`).toThrow(/names no value/);
    }
  });
});
