/**
 * Exact state may hold what JSON expands without bound: a sparse array of
 * length 10^8 (a few bytes stored, 10^8 nulls as JSON), an object reached
 * twice at each of 30 levels (2^30 copies), a typed array (a key per byte).
 * getStatus, list and the history turned such states into JSON in full: a
 * 285-byte record took minutes and gigabytes per getStatus, with the event
 * loop blocked, and an event with a shared chain blocked a send for 23 s with
 * history on. The views now stop at MAX_VIEW_VALUES and show TOO_LARGE.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { jsonViewText, MAX_VIEW_VALUES, TOO_LARGE } from '../src/json-view.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';

const keeper = setup({
  types: {
    context: {} as { data: unknown },
    events: {} as { type: 'SET'; data: unknown } | { type: 'NOTE'; data: unknown },
  },
}).createMachine({
  context: { data: null },
  on: { SET: { actions: assign({ data: ({ event }) => event.data }) }, NOTE: {} },
});

/** An object that reaches the next twice, `depth` levels down: 2^depth paths. */
function chain(depth: number): unknown {
  let node: unknown = { leaf: true };
  for (let i = 0; i < depth; i++) node = { left: node, right: node };
  return node;
}

function sparse(length: number): unknown[] {
  const list: unknown[] = [];
  list.length = length;
  list[0] = 'first';
  return list;
}

let r: TestRegistry<{ keeper: typeof keeper }> | undefined;
afterEach(async () => {
  await r?.close();
  r = undefined;
});

describe('the JSON view of a state that JSON expands without bound', () => {
  it.each([
    ['a sparse array of length 1e8', () => sparse(1e8)],
    ['an object reached twice at each of 30 levels', () => chain(30)],
    ['a typed array of 1.1 million bytes', () => new Uint8Array(1_100_000).fill(7)],
  ])(
    '%s: getStatus and list show it as too large, and the state is kept exactly',
    async (_, make) => {
      r = await createTestRegistry({ machines: { keeper } });
      await r.spawnSingleton('keeper', 'k');
      const data = make();
      await r.send('k', { type: 'SET', data });
      expect((await r.getStatus('k'))?.context).toBe(TOO_LARGE);
      expect((await r.list()).items[0]?.context).toBe(TOO_LARGE);
      await r.flush();
      r = await r.restart();
      const back = r.get('k')?.getSnapshot().context.data;
      if (Array.isArray(data)) {
        expect((back as unknown[]).length).toBe(1e8);
        expect(1 in (back as unknown[])).toBe(false);
      } else if (data instanceof Uint8Array) {
        expect(back).toBeInstanceOf(Uint8Array);
        expect(Buffer.compare(back as Uint8Array, data)).toBe(0);
      } else {
        // Level by level (a deep comparison takes 2^30 steps): still shared at each.
        let node = back as { left?: unknown; right?: unknown };
        for (let level = 0; level < 30; level++) {
          expect(node.left).toBe(node.right);
          node = node.left as typeof node;
        }
        expect(node).toEqual({ leaf: true });
      }
    },
  );

  it('a send of an event holding such a value, with history on, keeps a bounded entry', async () => {
    r = (await createTestRegistry({ machines: { keeper }, history: {} })) as never;
    const registry = r as TestRegistry<{ keeper: typeof keeper }>;
    await registry.spawnSingleton('keeper', 'h');
    await registry.send('h', { type: 'NOTE', data: chain(30) });
    const { items } = await registry.history('h');
    const last = items[items.length - 1] as { event: { type: string } };
    expect(last.event.type).toBe('NOTE');
    expect(JSON.stringify(last).length).toBeLessThan(100_000);
  });

  it('a view within the bound is shown in full: Maps, BigInts, cycles', () => {
    const cyclic: Record<string, unknown> = { n: 1n, m: new Map([[1, 'a']]) };
    cyclic.self = cyclic;
    expect(JSON.parse(jsonViewText(cyclic) as string)).toEqual({
      n: '1',
      m: [[1, 'a']],
      self: '[Circular]',
    });
    const wide = Array.from({ length: MAX_VIEW_VALUES - 1 }, () => 0);
    expect(JSON.parse(jsonViewText(wide) as string)).toHaveLength(MAX_VIEW_VALUES - 1);
    expect(JSON.parse(jsonViewText([...wide, 0]) as string)).toBe(TOO_LARGE);
  });
});
