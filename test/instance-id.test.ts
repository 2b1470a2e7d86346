/**
 * Instance IDs and store keys are distinct types: `npm run typecheck` (tsc over
 * test/) fails on a `@ts-expect-error` line that compiles; vitest runs the rest.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { RegistryError } from '../src/errors.js';
import type { Instance } from '../src/instance.js';
import { assertInstanceId, type InstanceId, toInstanceId } from '../src/instance-id.js';
import { type StoreKey, storeKey } from '../src/stores/store.js';

describe('InstanceId', () => {
  it('is not a StoreKey, nor a StoreKey an InstanceId, nor a plain string either', () => {
    const id = toInstanceId('tenant/42');
    const key = storeKey('tenant%2F42.json');
    // @ts-expect-error a store's entry name is not an instance ID
    const fromKey: InstanceId = key;
    // @ts-expect-error an instance ID is not a store's entry name
    const fromId: StoreKey = id;
    // @ts-expect-error an unchecked string is not an instance ID
    const unchecked: InstanceId = 'tenant/42';
    expect([fromKey, fromId, unchecked]).toHaveLength(3);
    expectTypeOf<InstanceId>().not.toEqualTypeOf<StoreKey>();
    // Both are strings, for every API that takes one.
    expectTypeOf(id).toExtend<string>();
    expectTypeOf(key).toExtend<string>();
  });

  it('an instance carries a checked ID; the public check still returns a plain string', () => {
    expectTypeOf<Instance['id']>().toEqualTypeOf<InstanceId>();
    expectTypeOf(assertInstanceId).returns.toEqualTypeOf<string>();
    expect(toInstanceId('nightly')).toBe('nightly');
  });

  it('refuses exactly the C0 controls and DEL, anywhere in the ID', () => {
    for (let c = 0; c <= 0xa0; c++) {
      const ch = String.fromCharCode(c);
      const control = c < 0x20 || c === 0x7f;
      for (const id of [ch, `a${ch}`, `${ch}b`, `a${ch}b`]) {
        if (control) expect(() => toInstanceId(id), `U+${c.toString(16)}`).toThrow(/control/);
        else expect(toInstanceId(id)).toBe(id);
      }
    }
  });

  it('checking a bad ID throws INVALID_INSTANCE_ID', () => {
    for (const bad of ['', 'a\u0000b', '\ud800', 'x'.repeat(257), 42, null]) {
      expect(() => toInstanceId(bad)).toThrow(RegistryError);
      try {
        toInstanceId(bad);
      } catch (err) {
        expect((err as RegistryError).code).toBe('INVALID_INSTANCE_ID');
      }
    }
  });
});
