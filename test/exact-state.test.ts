import assert from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assign, createMachine, raise, setup } from 'xstate';
import { createRegistry, FileStore, MemoryStore } from '../src/index.js';
import { fileNameFor } from '../src/stores/file-name.js';
import { createTestRegistry, parseRecord, type TestRegistry } from '../src/testing/index.js';

let r: TestRegistry<any>;
afterEach(() => r?.close().catch(() => {}));

/** One of every value kind the exact-state guarantee covers. */
function everyKind(): Record<string, unknown> {
  const shared = { s: 1 };
  const inMap = { name: 'cycle' } as Record<string, unknown>;
  inMap.self = inMap;
  // biome-ignore lint/suspicious/noSparseArray: the hole is the point
  const holes = [1, , 3, undefined];
  return {
    plain: { a: 1, b: 'two', c: [true, null] },
    missing: undefined,
    holes,
    nan: Number.NaN,
    inf: Number.POSITIVE_INFINITY,
    ninf: Number.NEGATIVE_INFINITY,
    nzero: -0,
    date: new Date(Date.UTC(2026, 10, 27, 20, 0, 0, 123)),
    map: new Map<unknown, unknown>([
      ['k', { v: 1 }],
      [2, new Set(['x'])],
    ]),
    set: new Set([1, 'a', undefined]),
    big: 12345678901234567890n,
    regex: /a+b/gi,
    bytes: new Uint8Array([0, 1, 255]),
    floats: new Float64Array([0.5, -0, Number.NaN]),
    shared: [shared, shared],
    cyclicInMap: new Map([['c', inMap]]),
    nul: 'a\u0000b',
  };
}

function expectExact(actual: Record<string, unknown>, expected: Record<string, unknown>): void {
  expect(actual).toStrictEqual(expected);
  // toStrictEqual checks class, undefined keys and holes; these pin what it does not.
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  expect('missing' in actual).toBe(true);
  expect(Object.is(actual.nzero, -0)).toBe(true);
  expect(1 in (actual.holes as unknown[])).toBe(false);
  expect(3 in (actual.holes as unknown[])).toBe(true);
  const shared = actual.shared as object[];
  expect(shared[0]).toBe(shared[1]);
  const inMap = (actual.cyclicInMap as Map<string, { self: unknown }>).get('c');
  expect(inMap?.self).toBe(inMap);
}

const keeper = setup({
  types: { context: {} as { data: Record<string, unknown> }, input: {} as Record<string, unknown> },
}).createMachine({
  context: ({ input }) => ({ data: input }),
  on: { PING: { actions: assign({ data: ({ context }) => context.data }) } },
});

describe('exact state across a restart', () => {
  it('context holding every value kind comes back exactly (and from the input)', async () => {
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'k', { input: everyKind() });
    await r.flush();
    expect(JSON.parse(r.store.peek('k') ?? '')).toMatchObject({
      format: 'xstate-registry/2',
      encoding: 'devalue',
    });
    r = await r.restart();
    expectExact(r.get('k')?.getSnapshot().context.data, everyKind());
    r = await r.restart();
    expectExact(r.get('k')?.getSnapshot().context.data, everyKind());
  });

  it('a data item declared without a value ({ i: undefined }) still exists after a restart', async () => {
    // As generated from SCXML <data id="i"/>: reading an undeclared item is a ReferenceError.
    const scxml = createMachine({
      context: { i: undefined as number | undefined },
      initial: 'run',
      states: {
        run: {
          on: {
            STEP: {
              actions: assign(({ context }) => {
                if (!('i' in context)) throw new ReferenceError('i is not defined');
                return { i: (context.i ?? 0) + 1 };
              }),
            },
          },
        },
      },
    });
    r = await createTestRegistry({ machines: { scxml } });
    await r.spawnSingleton('scxml', 's');
    r = await r.restart();
    await r.send('s', { type: 'STEP' });
    expect(await r.getStatus('s')).toMatchObject({ status: 'running', context: { i: 1 } });
  });

  it('the payload of a pending delayed event comes back exactly', async () => {
    const later = setup({
      types: { context: {} as { got?: Record<string, unknown> } },
    }).createMachine({
      context: {},
      initial: 'waiting',
      states: {
        waiting: {
          entry: raise(() => ({ type: 'LATER', payload: everyKind() }), { delay: 1000 }),
          on: {
            LATER: {
              target: 'got',
              actions: assign({
                got: ({ event }) => (event as unknown as { payload: never }).payload,
              }),
            },
          },
        },
        got: {},
      },
    });
    r = await createTestRegistry({ machines: { later } });
    await r.spawnSingleton('later', 'l');
    r = await r.restart();
    r.clock.increment(1000);
    const snapshot = r.get('l')?.getSnapshot();
    expect(snapshot?.value).toBe('got');
    expectExact(snapshot?.context.got, everyKind());
  });

  it('output and errors come back exactly', async () => {
    const finisher = createMachine({
      initial: 'a',
      states: { a: { on: { DONE: 'b' } }, b: { type: 'final' } },
      output: () => ({ when: new Date(5), tally: new Map([['x', 1n]]), none: undefined }),
    });
    const failer = createMachine({
      on: {
        FAIL: {
          actions: () => {
            throw Object.assign(new TypeError('bad input'), { code: 'E_BAD' });
          },
        },
      },
    });
    r = await createTestRegistry({ machines: { finisher, failer } });
    await r.spawnSingleton('finisher', 'f');
    await r.spawnSingleton('failer', 'e');
    await r.send('f', { type: 'DONE' });
    await r.send('e', { type: 'FAIL' }).catch(() => {});
    await r.flush();
    r = await r.restart();
    const out = (parseRecord(r.store.peek('f') ?? '').snapshot as { output: unknown }).output;
    expect(out).toStrictEqual({ when: new Date(5), tally: new Map([['x', 1n]]), none: undefined });
    const failed = parseRecord(r.store.peek('e') ?? '');
    expect(failed.status).toBe('error');
    const error = (failed.snapshot as { error: TypeError & { code: string } }).error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('bad input');
    expect(error.code).toBe('E_BAD');
  });

  it('a plain-JSON state is written as readable plain JSON', async () => {
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'p', { input: { a: 1, list: ['x', { y: null }] } });
    await r.flush();
    const stored = JSON.parse(r.store.peek('p') ?? '');
    expect(stored).toMatchObject({
      format: 'xstate-registry/2',
      encoding: 'json',
      snapshot: { context: { data: { a: 1, list: ['x', { y: null }] } } },
      timers: [],
    });
  });
});

describe('more value kinds across a restart', () => {
  it('boxed primitives, object Map keys, -0 in a Map, an invalid Date, BigInt64Array, a null prototype', async () => {
    const key = { k: 1 };
    const kinds = () => ({
      boxed: [new Number(1), new String('ab'), new Boolean(false)],
      byObject: new Map<unknown, unknown>([[key, -0]]),
      key,
      invalid: new Date(Number.NaN),
      bigs: new BigInt64Array([1n, -2n]),
      bare: Object.assign(Object.create(null), { a: 1 }),
    });
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'm', { input: kinds() });
    r = await r.restart();
    const data = r.get('m')?.getSnapshot().context.data;
    expect(data).toStrictEqual(kinds());
    expect(Object.is(data.byObject.get(data.key), -0)).toBe(true);
    expect(Object.getPrototypeOf(data.bare)).toBe(null);
  });
});

describe('Errors across a restart: kept exactly, or refused', () => {
  it('an AggregateError keeps its class, errors, cause and fields', async () => {
    const made = () =>
      Object.assign(
        new AggregateError([new RangeError('one'), 'two'], 'both failed', { cause: 'why' }),
        { code: 'E_BOTH' },
      );
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'a', { input: { e: made(), plain: new Error('x') } });
    r = await r.restart();
    const { e, plain } = r.get('a')!.getSnapshot().context.data as {
      e: AggregateError;
      plain: Error;
    };
    expect(e).toBeInstanceOf(AggregateError);
    expect(e.errors[0]).toBeInstanceOf(RangeError);
    expect(e.errors.map(String)).toEqual(['RangeError: one', 'two']);
    expect([e.message, e.cause, (e as { code?: string }).code]).toEqual([
      'both failed',
      'why',
      'E_BOTH',
    ]);
    expect(plain).toBeInstanceOf(Error);
    expect('cause' in plain).toBe(false);
  });

  // The errors were copied element by element, on write and on read: holes
  // came back as undefined, and a hand-made record holding a sparse array of
  // length 2e8 (349 bytes) ran the process out of heap at every start.
  it("an AggregateError's errors keep their holes, and a huge sparse list in a record loads", async () => {
    const errors: unknown[] = [new Error('one')];
    errors[2] = 'three';
    const shared = { errors };
    const e = new AggregateError(errors, 'gaps');
    Object.defineProperty(e, 'errors', { value: errors, writable: true, configurable: true });
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'g', { input: { e, shared } });
    r = await r.restart();
    const data = r.get('g')?.getSnapshot().context.data as {
      e: AggregateError;
      shared: typeof shared;
    };
    expect(data.e.errors).toHaveLength(3);
    expect(1 in data.e.errors).toBe(false);
    expect(data.e.errors[2]).toBe('three');
    expect(data.e.errors).toBe(data.shared.errors);

    // The same by hand, as a file in a store: an errors list of length 2e8, nearly all holes.
    const dir = await mkdtemp(join(os.tmpdir(), 'xr-aggregate-'));
    const first = createRegistry({ machines: { keeper }, store: new FileStore({ dir }) });
    await first.start();
    await first.spawnSingleton('keeper', 'bad', { input: { n: 1 } });
    await first.close();
    const path = join(dir, 'instances', fileNameFor('bad'));
    const record = JSON.parse(await readFile(path, 'utf8'));
    record.encoding = 'devalue';
    record.state = [
      { snapshot: 1, timers: 4 },
      { status: 2, value: 3, historyValue: 3, context: 5, children: 3 },
      'active',
      {},
      [],
      { data: 6 },
      ['Error', 7],
      [8, 9, -1, 10, -1, 11, 12],
      'AggregateError',
      'm',
      {},
      [-7, 2e8],
      false,
    ];
    await writeFile(path, JSON.stringify(record));
    const again = createRegistry({ machines: { keeper }, store: new FileStore({ dir }) });
    try {
      const summary = await again.start();
      expect(summary.quarantined).toEqual([]);
      const loaded = again.get('bad')?.getSnapshot().context.data as AggregateError;
      expect(loaded).toBeInstanceOf(AggregateError);
      expect(loaded.errors.length).toBe(2e8);
      expect(0 in loaded.errors).toBe(false);
    } finally {
      await again.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a renamed AggregateError keeps its class and errors (the class is told by its form, not its name)', async () => {
    const renamed = Object.assign(new AggregateError([new Error('one')], 'batch failed'), {
      name: 'BatchError',
    });
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'b', { input: { e: renamed } });
    r = await r.restart();
    const e = r.get('b')?.getSnapshot().context.data.e as AggregateError;
    expect(e).toBeInstanceOf(AggregateError);
    expect([e.name, e.errors.map((x: Error) => x.message)]).toEqual(['BatchError', ['one']]);
  });

  // Node's SystemError carries a hidden Symbol(kIsNodeError): refusing it made
  // such an error, caught into context, impossible to store.
  it('a Node SystemError is kept (its hidden brand symbol is not data)', async () => {
    const thrown = (() => {
      try {
        os.setPriority(999_999, 0);
      } catch (err) {
        return err as Error & { code: string; info: object };
      }
      throw new Error('did not throw');
    })();
    expect(Object.getOwnPropertySymbols(thrown)).toHaveLength(1);
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 's', { input: { e: thrown } });
    r = await r.restart();
    const e = r.get('s')?.getSnapshot().context.data.e as typeof thrown;
    expect([e.name, e.message, e.code]).toEqual([thrown.name, thrown.message, thrown.code]);
    expect(e.info).toEqual(thrown.info);
  });

  it("Node's own errors are kept (an AssertionError holds its own non-enumerable name)", async () => {
    const thrown = (f: () => void) => {
      try {
        f();
      } catch (err) {
        return err as Error;
      }
      throw new Error('did not throw');
    };
    const assertion = thrown(() => assert.strictEqual(1, 2));
    const url = thrown(() => new URL('nope'));
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'n', { input: { assertion, url } });
    r = await r.restart();
    const data = r.get('n')?.getSnapshot().context.data as { assertion: Error; url: Error };
    expect([data.assertion.name, data.assertion.message]).toEqual([
      assertion.name,
      assertion.message,
    ]);
    expect((data.assertion as unknown as { operator: string }).operator).toBe('strictEqual');
    expect(data.url).toBeInstanceOf(TypeError);
    expect((data.url as unknown as { code: string }).code).toBe('ERR_INVALID_URL');
  });

  // Each was silently dropped or changed at the next restart.
  it.each([
    [
      'a non-enumerable own property',
      () => Object.defineProperty(new Error('x'), 'retryAt', { value: 123, enumerable: false }),
      /non-enumerable property 'retryAt'/,
    ],
    [
      'a symbol key',
      () => Object.assign(new Error('x'), { [Symbol('tag')]: 1 }),
      /symbol key Symbol\(tag\)/,
    ],
    [
      'a message that is not a string',
      () => Object.assign(new Error('x'), { message: 42 }),
      /message is not a string/,
    ],
  ])(
    'an Error with %s is refused with NOT_SERIALIZABLE naming it, never changed',
    async (_, make, reason) => {
      r = await createTestRegistry({ machines: { keeper } });
      await r.spawnSingleton('keeper', 'k', { input: { ok: 1 } });
      await r.flush();
      const before = r.store.peek('k');
      await expect(
        r.spawnSingleton('keeper', 'k2', { input: { e: make() } }),
      ).resolves.toBeDefined();
      const err = await r.flush().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: expect.stringMatching(/NOT_SERIALIZABLE|PERSIST_FAILED/) });
      expect(String((await r.getStatus('k2'))?.persistError?.message)).toMatch(reason);
      expect(r.store.peek('k')).toBe(before);
      expect(r.store.peek('k2')).toBeUndefined();
    },
  );
});

describe('getStatus, a JSON view of exact state', () => {
  it('shows a BigInt, a Map, a Set and a cycle instead of a null context', async () => {
    const cyclic = new Map<string, unknown>();
    cyclic.set('me', cyclic);
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'v', {
      input: { big: 10n, map: new Map([['k', 1]]), set: new Set(['x']), cyclic, n: 1 },
    });
    expect((await r.getStatus('v'))?.context).toEqual({
      data: { big: '10', map: [['k', 1]], set: ['x'], cyclic: [['me', '[Circular]']], n: 1 },
    });
  });

  // Only a BigInt or a cycle used to bring in the view: a Map or Set alone showed as {}.
  it('shows a Map and a Set by their entries without a BigInt or a cycle beside them, in list() too', async () => {
    r = await createTestRegistry({ machines: { keeper } });
    await r.spawnSingleton('keeper', 'm', {
      input: { map: new Map([['k', { a: 1 }]]), set: new Set([1, 2]), at: new Date(0) },
    });
    const shown = { data: { map: [['k', { a: 1 }]], set: [1, 2], at: '1970-01-01T00:00:00.000Z' } };
    expect((await r.getStatus('m'))?.context).toEqual(shown);
    expect((await r.list()).items.find((s) => s.id === 'm')?.context).toEqual(shown);
  });
});

describe('what cannot be stored is refused at write time, naming the path', () => {
  class Customer {
    name = 'Ada';
  }
  // ES2024: TypeScript's lib here does not declare the options argument.
  const resizableBuffer = () =>
    new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(
      8,
      { maxByteLength: 64 },
    );
  it.each([
    ['a function', { customer: { onSave: () => {} } }, 'context.data.customer.onSave'],
    ['a symbol', { tag: Symbol('t') }, 'context.data.tag'],
    ['a class instance', { list: [1, new Customer()] }, 'context.data.list[1]'],
    [
      'an array with a named property',
      { tags: Object.assign(['a'], { label: 'x' }) },
      'context.data.tags',
    ],
    [
      'a non-enumerable property',
      { customer: Object.defineProperty({}, 'secret', { value: 1, enumerable: false }) },
      'context.data.customer',
    ],
    ['a Map subclass', { index: new (class Index extends Map {})() }, 'context.data.index'],
    // It came back fixed-size: resize() threw, and a view on it no longer tracked its length.
    ['a resizable ArrayBuffer', { buf: resizableBuffer() }, 'context.data.buf'],
    [
      'a view on a resizable ArrayBuffer',
      { view: new Uint8Array(resizableBuffer()) },
      'context.data.view',
    ],
  ])('%s: NOT_SERIALIZABLE, and the last good record stays', async (_name, bad, path) => {
    const holder = setup({
      types: { context: {} as { data: unknown } },
    }).createMachine({
      context: { data: { ok: true } },
      on: {
        SET: {
          actions: assign({ data: ({ event }) => (event as unknown as { data: unknown }).data }),
        },
      },
    });
    r = await createTestRegistry({ machines: { holder } });
    await r.spawnSingleton('holder', 'h');
    await r.flush();
    const good = r.store.peek('h');
    r.on('error', () => {});
    r.get('h')?.send({ type: 'SET', data: bad } as never);
    const err = await r.flush().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'NOT_SERIALIZABLE',
      details: { id: 'h', path },
      message: expect.stringContaining(path),
    });
    expect(r.store.peek('h')).toBe(good);
  });
});

describe('cycles', () => {
  it('a cycle of plain objects in context, which XState cannot persist, is refused with what to do', async () => {
    const node: Record<string, unknown> = { name: 'loop' };
    node.self = node;
    r = await createTestRegistry({ machines: { keeper } });
    r.on('error', () => {});
    await r.spawnSingleton('keeper', 'c', { input: { node } });
    await expect(r.flush()).rejects.toMatchObject({
      code: 'NOT_SERIALIZABLE',
      message: expect.stringMatching(/cycle.*Map or Set/),
    });
  });

  // The README says 1,000 levels always work, a chain of 500 causes and one of
  // 250 AggregateErrors: each kind that nests, through the registry's own write
  // path (deeper in the stack than the codec alone), and a restart. Measured on
  // Node 20 (review): 864 causes and 547 AggregateErrors still pass.
  it('a context nested 1,000 levels deep (500 causes, 250 AggregateErrors), of each kind that nests, comes back exactly', async () => {
    // Each kind: how to wrap a value one level deeper, and how to unwrap it
    // (undefined if the level is not what was wrapped). Compared level by level:
    // Node's own deep comparison overflows the stack on 1,000 nested Maps.
    const kinds: Record<string, [number, (v: unknown) => unknown, (v: unknown) => unknown]> = {
      objects: [1000, (v) => ({ v }), (v) => (v as { v: unknown }).v],
      arrays: [1000, (v) => [v], (v) => (Array.isArray(v) && v.length === 1 ? v[0] : undefined)],
      maps: [
        1000,
        (v) => new Map([['v', v]]),
        (v) => (v instanceof Map && v.size === 1 ? v.get('v') : undefined),
      ],
      sets: [
        1000,
        (v) => new Set([v]),
        (v) => (v instanceof Set && v.size === 1 ? [...v][0] : undefined),
      ],
      // An Error costs devalue three calls a level: 1,000 causes overflowed
      // the stack on the registry's write path (refused, NOT_SERIALIZABLE).
      causes: [
        500,
        (v) => new Error('e', { cause: v }),
        (v) => (v instanceof Error && v.message === 'e' ? v.cause : undefined),
      ],
      aggregates: [
        250,
        (v) => new AggregateError([v], 'e'),
        (v) => (v instanceof AggregateError && v.errors.length === 1 ? v.errors[0] : undefined),
      ],
    };
    r = await createTestRegistry({ machines: { keeper } });
    for (const [id, [levels, wrap]] of Object.entries(kinds)) {
      let value: unknown = 'leaf';
      for (let i = 0; i < levels; i++) value = wrap(value);
      await r.spawnSingleton('keeper', id, { input: { value } });
    }
    await r.flush();
    r = await r.restart();
    for (const [id, [levels, , unwrap]] of Object.entries(kinds)) {
      const actor = r.get(id);
      assert(actor, `instance ${id} is live after the restart`);
      let value = (actor.getSnapshot().context as { data: { value: unknown } }).data.value;
      let depth = 0;
      while (value !== 'leaf' && value !== undefined) {
        value = unwrap(value);
        depth++;
      }
      expect([id, depth, value]).toEqual([id, levels, 'leaf']);
    }
  });

  it('a new instance whose first state cannot be stored: a strict spawn rejects, it runs in memory only, and is gone after a restart', async () => {
    r = await createTestRegistry({ machines: { keeper }, durability: 'strict' });
    r.on('error', () => {});
    await expect(
      r.spawnSingleton('keeper', 'fn', { input: { onSave: () => {} } }),
    ).rejects.toMatchObject({ code: 'NOT_SERIALIZABLE', details: { path: 'context.data.onSave' } });
    expect(await r.getStatus('fn')).toMatchObject({
      status: 'running',
      persistError: { code: 'NOT_SERIALIZABLE' },
    });
    expect(r.store.peek('fn')).toBeUndefined();
    // close() says so too, and the next start finds nothing under the ID.
    await expect(r.close()).rejects.toMatchObject({ code: 'NOT_SERIALIZABLE' });
    r = await createTestRegistry({ machines: { keeper }, store: r.store });
    expect(await r.getStatus('fn')).toBeUndefined();
  });

  it('a context nested 20,000 deep is refused with what to do, and other instances are unharmed', async () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) deep = { deep };
    r = await createTestRegistry({ machines: { keeper } });
    r.on('error', () => {});
    await r.spawnSingleton('keeper', 'ok', { input: { n: 1 } });
    await r.spawnSingleton('keeper', 'deep', { input: { deep } });
    await expect(r.flush()).rejects.toMatchObject({
      code: 'NOT_SERIALIZABLE',
      message: expect.stringMatching(/nest/),
    });
    expect(r.store.peek('deep')).toBeUndefined();
    const ok = parseRecord(r.store.peek('ok') ?? '');
    expect((ok.snapshot as { context: unknown }).context).toEqual({ data: { n: 1 } });
    expect(await r.getStatus('deep')).toMatchObject({ persistError: expect.anything() });
  });

  it('a cyclic delayed event payload comes back cyclic', async () => {
    const payload: Record<string, unknown> = { n: 1 };
    payload.again = payload;
    const later = createMachine({
      initial: 'waiting',
      context: { got: null as unknown },
      states: {
        waiting: {
          entry: raise({ type: 'LATER', payload } as never, { delay: 10 }),
          on: {
            LATER: { target: 'got', actions: assign({ got: ({ event }) => event.payload.again }) },
          },
        },
        got: {},
      },
    });
    r = await createTestRegistry({ machines: { later } });
    await r.spawnSingleton('later', 'l');
    r = await r.restart();
    const timers = parseRecord(r.store.peek('l') ?? '').timers;
    const stored = timers[0]?.event.payload as Record<string, unknown>;
    expect(stored.again).toBe(stored);
  });
});

describe('records of format version 1', () => {
  it('still load', async () => {
    const store = new MemoryStore();
    store.inject(
      'old',
      JSON.stringify({
        format: 'xstate-registry/1',
        id: 'old',
        type: 'keeper',
        machineVersion: 1,
        status: 'running',
        createdAt: 1,
        updatedAt: 2,
        snapshot: {
          status: 'active',
          value: {},
          historyValue: {},
          context: { data: { n: 1, at: '2026-01-01T00:00:00.000Z' } },
          children: {},
        },
        timers: [],
      }),
    );
    r = await createTestRegistry({ machines: { keeper }, store });
    expect(store.quarantined.size).toBe(0);
    expect(r.get('old')?.getSnapshot().context).toEqual({
      data: { n: 1, at: '2026-01-01T00:00:00.000Z' },
    });
    await r.send('old', { type: 'PING' });
    await r.flush();
    expect(JSON.parse(store.peek('old') ?? '')).toMatchObject({
      format: 'xstate-registry/2',
      encoding: 'json',
      createdAt: 1,
    });
  });
});
