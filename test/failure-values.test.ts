/**
 * What a machine fails with is turned into text for its status, inside XState's
 * observer of the failed actor, where a throw escapes as an uncaught exception.
 * A failure that String() cannot convert (an object without a prototype, as
 * `querystring.parse` gives, or one whose toString throws), or an Error whose
 * message getter throws, ended the host process. It now ends the instance in
 * `error` with a message that describes it, and every other instance carries on.
 * (Its record keeps what XState failed with, exactly or not at all: a value
 * that cannot be stored is refused with NOT_SERIALIZABLE, as always.)
 */
import querystring from 'node:querystring';
import { afterEach, describe, expect, it } from 'vitest';
import { createMachine, fromPromise, setup } from 'xstate';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { machines } from './fixtures.js';

let r: TestRegistry<Record<string, never>> | undefined;
afterEach(async () => {
  // What the failure cases cannot store is asserted in them.
  await r?.close().catch(() => {});
  r = undefined;
});

const failingWith = (value: () => unknown) =>
  setup({ actors: { call: fromPromise(async () => Promise.reject(value())) } }).createMachine({
    initial: 'calling',
    states: { calling: { invoke: { src: 'call' } } },
  });

const throwingMessage = () => {
  const err = new Error('hidden');
  Object.defineProperty(err, 'message', {
    get() {
      throw new Error('no message for you');
    },
  });
  return err;
};

const throwingToString = () => ({
  toString() {
    throw new Error('no text');
  },
});

describe('a machine failing with a value that cannot be turned into text', () => {
  it.each([
    ['an object without a prototype', () => querystring.parse('error=denied'), 'an object', true],
    ['an object whose toString throws', throwingToString, 'an object', false],
    ['an Error whose message getter throws', throwingMessage, 'cannot be read', false],
  ])(
    '%s: the instance ends in error, the process and the others carry on',
    async (_, value, says, storable) => {
      const registry = await createTestRegistry({
        machines: { ...machines, failing: failingWith(value), plain: createMachine({}) },
      });
      r = registry as never;
      const failed = new Promise<{ id: string; error: { message: string } }>((resolve) =>
        registry.on('failed', resolve),
      );
      await registry.spawnSingleton('counter', 'neighbour');
      await registry.spawnSingleton('failing', 'f');
      const event = await failed;
      expect(event.id).toBe('f');
      expect(event.error.message).toContain(says);
      expect(await registry.getStatus('f')).toMatchObject({ status: 'error' });
      await registry.send('neighbour', { type: 'INC' });
      expect((await registry.getStatus('neighbour'))?.context).toMatchObject({ count: 1 });
      if (storable) await registry.flush();
      else await expect(registry.flush()).rejects.toMatchObject({ code: 'NOT_SERIALIZABLE' });
    },
  );
});
