import { describe, expect, it } from 'vitest';
import { assign, createMachine } from 'xstate';
import { createTestRegistry } from '../src/testing/index.js';

const m = createMachine({
  id: 'm',
  initial: 'a',
  context: { n: 0 },
  states: {
    a: { on: { GO: { target: 'b', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
    b: { after: { 1000: 'c' } },
    c: { type: 'final' },
  },
});

describe('smoke', () => {
  it('works', async () => {
    const r = await createTestRegistry({ machines: { m } });
    const a = await r.spawnSingleton('m', 'x');
    await r.send('x', { type: 'GO' });
    expect(a.getSnapshot().value).toBe('b');
    const r2 = await r.restart();
    expect(r2.get('x')?.getSnapshot().value).toBe('b');
    r2.clock.increment(1000);
    expect((await r2.getStatus('x'))?.status).toBe('done');
    await r2.close();
  });
});
