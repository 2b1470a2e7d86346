import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { demoMachines } from '../examples/machines.js';
import { createTestRegistry, TestClock } from '../src/testing/index.js';

describe('TestClock', () => {
  it('fires each timer at its own due time, in order, including ones scheduled meanwhile', () => {
    const clock = new TestClock(1000);
    const fired: Array<[string, number]> = [];
    const repeat = () => {
      fired.push(['tick', clock.now()]);
      clock.setTimeout(repeat, 300);
    };
    clock.setTimeout(repeat, 300);
    clock.setTimeout(() => fired.push(['once', clock.now()]), 500);
    const cancelled = clock.setTimeout(() => fired.push(['never', clock.now()]), 100);
    clock.clearTimeout(cancelled);
    clock.increment(1000);
    expect(fired).toEqual([
      ['tick', 1300],
      ['once', 1500],
      ['tick', 1600],
      ['tick', 1900],
    ]);
    expect(clock.now()).toBe(2000);
    expect(clock.pending).toBe(1);
    expect(() => clock.set(0)).toThrow(RangeError);
  });

  it('drives a repeating actor the way a real clock would, unlike a jumping SimulatedClock', async () => {
    const stepped = await createTestRegistry({ machines: demoMachines });
    await stepped.spawnSingleton('job', 'j', { input: { steps: 5, stepMs: 1000 } });
    stepped.clock.increment(3000);
    expect((await stepped.getStatus('j'))?.context).toMatchObject({ done: 3 });
    await stepped.close();

    const jumping = new SimulatedClock();
    const r = await createTestRegistry({ machines: demoMachines, clock: jumping });
    await r.spawnSingleton('job', 'j', { input: { steps: 5, stepMs: 1000 } });
    jumping.increment(3000);
    expect((await r.getStatus('j'))?.context).toMatchObject({ done: 1 });
    await r.close();
  });
});
