/**
 * Arguments of the wrong type got a bare TypeError (no `code`) from deep
 * inside: `list({ type: 5 })` and `counts({ type: 5 })` ("5 is not
 * iterable"), `list({ status: 5 })`, and `purge(id, null)` (reading `force`
 * of null). Each now gets `INVALID_ARGUMENT` naming the call.
 */
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { isRegistryError } from '../src/index.js';
import { createTestRegistry } from '../src/testing/index.js';

const m = setup({}).createMachine({ id: 'm', initial: 'a', states: { a: {} } });

/** Makes `call` on a registry hosting 'x': it must fail with `code`, and leave 'x' running. */
async function refusedWith(call: (r: any) => unknown, code: 'INVALID_ARGUMENT'): Promise<void> {
  const r = await createTestRegistry({ machines: { m } });
  try {
    await r.spawnSingleton('m', 'x');
    const err = await Promise.resolve()
      .then(() => call(r))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect([isRegistryError(err, code), (err as { code?: string })?.code]).toEqual([true, code]);
    expect((await r.getStatus('x'))?.status).toBe('running');
  } finally {
    await r.close();
  }
}

describe('arguments of the wrong type', () => {
  it.each([
    ['list({ type: 5 })', (r: any) => r.list({ type: 5 })],
    ['list({ type: [5] })', (r: any) => r.list({ type: [5] })],
    ['list({ status: 5 })', (r: any) => r.list({ status: 5 })],
    ['counts({ type: 5 })', (r: any) => r.counts({ type: 5 })],
    ['counts({ type: {} })', (r: any) => r.counts({ type: {} })],
    ["purge('x', null)", (r: any) => r.purge('x', null)],
    ["purge('x', { force: 'yes' })", (r: any) => r.purge('x', { force: 'yes' })],
    // Both used to call cursor.slice while building the error: a TypeError.
    ['quarantined({ cursor: 5 })', (r: any) => r.quarantined({ cursor: 5 })],
    ['quarantined({ cursor: null })', (r: any) => r.quarantined({ cursor: null })],
  ])('%s: INVALID_ARGUMENT, and nothing changes', (_, call) =>
    refusedWith(call, 'INVALID_ARGUMENT'),
  );

  // Building the error itself threw: String() of a symbol or of an object without a prototype.
  it.each([
    ['getStatus(nullProto)', (r: any) => r.getStatus(Object.create(null)), 'INVALID_INSTANCE_ID'],
    [
      'send(nullProto, e)',
      (r: any) => r.send(Object.create(null), { type: 'X' }),
      'INVALID_INSTANCE_ID',
    ],
    [
      "spawnSingleton('m', nullProto)",
      (r: any) => r.spawnSingleton('m', Object.create(null)),
      'INVALID_INSTANCE_ID',
    ],
    ['history(nullProto)', (r: any) => r.history(Object.create(null)), 'INVALID_INSTANCE_ID'],
    [
      "spawnSingleton(Symbol(), 'y')",
      (r: any) => r.spawnSingleton(Symbol('s'), 'y'),
      'INVALID_ARGUMENT',
    ],
    ['spawn(Symbol())', (r: any) => r.spawn(Symbol('s')), 'INVALID_ARGUMENT'],
    ["actor(nullProto, 'x')", (r: any) => r.actor(Object.create(null), 'x'), 'INVALID_ARGUMENT'],
    [
      "getStatus('x', { type: Symbol() })",
      (r: any) => r.getStatus('x', { type: Symbol('s') }),
      'INVALID_ARGUMENT',
    ],
    [
      "send('x', e, { type: nullProto })",
      (r: any) => r.send('x', { type: 'X' }, { type: Object.create(null) }),
      'INVALID_ARGUMENT',
    ],
    [
      'history(x, { cursor: nullProto })',
      (r: any) => r.history('x', { cursor: Object.create(null) }),
      'INVALID_ARGUMENT',
    ],
    [
      'list({ createdFrom: Symbol() })',
      (r: any) => r.list({ createdFrom: Symbol('s') }),
      'INVALID_ARGUMENT',
    ],
    [
      'list({ updatedTo: nullProto })',
      (r: any) => r.list({ updatedTo: Object.create(null) }),
      'INVALID_ARGUMENT',
    ],
  ])('%s: a coded error, not a bare TypeError', (_, call, code) =>
    refusedWith(call, code as 'INVALID_ARGUMENT'),
  );

  // NaN reached SQL ("interval out of range"), 1e10 overflowed the renewal timer into a 1 ms loop,
  // and a NaN sweep interval scanned the table every millisecond.
  it.each([Number.NaN, Number.POSITIVE_INFINITY, 0, -5, 1e10, '5000'])(
    'PostgresStore leaseMs %s and takeoverIntervalMs %s are refused with INVALID_ARGUMENT',
    async (bad) => {
      const { PostgresStore } = await import('../src/postgres.js');
      expect(
        () =>
          new PostgresStore({
            connectionString: 'postgres://x@127.0.0.1:1/x',
            leaseMs: bad as never,
          }),
      ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      const { createRegistry } = await import('../src/index.js');
      expect(() => createRegistry({ machines: { m }, takeoverIntervalMs: bad as never })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    },
  );

  // These used to read a field of null: a TypeError. Like getStatus(id, null), they now read null as no options.
  it('null options of send, waitFor and stop read as none', async () => {
    const r = await createTestRegistry({ machines: { m } });
    try {
      await r.spawnSingleton('m', 'x');
      await (r as any).send('x', { type: 'PING' }, null);
      expect((await (r as any).waitFor('x', 'running', null)).status).toBe('running');
      expect((await (r as any).stop('x', 'by hand', null)).status).toBe('stopped');
    } finally {
      await r.close();
    }
  });

  it('the right types still work', async () => {
    const r = await createTestRegistry({ machines: { m } });
    try {
      await r.spawnSingleton('m', 'x');
      expect((await r.list({ type: ['m'], status: 'running' })).items).toHaveLength(1);
      expect((await r.counts({ type: 'm' })).running).toBe(1);
      await r.purge('x', { force: true });
      expect(await r.getStatus('x')).toBeUndefined();
    } finally {
      await r.close();
    }
  });
});
