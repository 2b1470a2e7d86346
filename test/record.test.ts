import { describe, expect, it } from 'vitest';
import { parseRecord, safeJsonParse } from '../src/testing/index.js';

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
  ])('rejects a bad %s with CORRUPT_RECORD', (_name, patch) => {
    expect(() => parseRecord(JSON.stringify({ ...good, ...patch }))).toThrow(
      expect.objectContaining({ code: 'CORRUPT_RECORD' }),
    );
  });
});
