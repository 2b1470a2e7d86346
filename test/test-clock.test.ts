import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMachine, SimulatedClock } from 'xstate';
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
    expect(() => clock.set(0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
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

describe('TestClock: bad input and runaway timers', () => {
  const codeOf = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (err) {
      return (err as { code?: unknown }).code;
    }
    return 'no error';
  };

  it('refuses a time or step that is not a finite number, and stays where it was', () => {
    const clock = new TestClock(1000);
    let fired = 0;
    clock.setTimeout(() => fired++, 10);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 999]) {
      expect(codeOf(() => clock.set(bad))).toBe('INVALID_ARGUMENT');
    }
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      expect(codeOf(() => clock.increment(bad))).toBe('INVALID_ARGUMENT');
    }
    expect(clock.now()).toBe(1000);
    expect(fired).toBe(0);
    expect(clock.pending).toBe(1);
    clock.increment(10);
    expect(fired).toBe(1);
  });

  it('refuses a start that is not finite and a timerLimit that is not a positive integer', () => {
    expect(codeOf(() => new TestClock(Number.NaN))).toBe('INVALID_ARGUMENT');
    for (const timerLimit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(codeOf(() => new TestClock(0, { timerLimit }))).toBe('INVALID_ARGUMENT');
    }
  });

  it('refuses times a Date and a record cannot hold (before 0, past 8.64e15): instances stamped there were lost at restart', () => {
    for (const start of [-1, 8.64e15 + 1, 9e15])
      expect(
        codeOf(() => new TestClock(start)),
        String(start),
      ).toBe('INVALID_ARGUMENT');
    const clock = new TestClock(8.64e15 - 10);
    expect(codeOf(() => clock.increment(11))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => clock.set(8.64e15 + 1))).toBe('INVALID_ARGUMENT');
    clock.increment(10);
    expect(clock.now()).toBe(8.64e15);
  });

  it('a registry on a clock at the last time a Date holds restarts with its instances', async () => {
    const clock = new TestClock(8.64e15);
    let r = await createTestRegistry({ machines: { m: createMachine({}) }, clock });
    await r.spawnSingleton('m', 'late');
    r = await r.restart();
    try {
      expect((await r.getStatus('late'))?.status).toBe('running');
    } finally {
      await r.close();
    }
  });

  it('stays usable when a timer throws: the error reaches the caller, later timers still fire', () => {
    const clock = new TestClock(0, { timerLimit: 10 });
    const fired: number[] = [];
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 5);
    clock.setTimeout(() => fired.push(clock.now()), 7);
    expect(() => clock.increment(10)).toThrow('boom');
    expect(clock.now()).toBe(5);
    // Not left "firing": a timer set now from outside is no chain link.
    let zeros = 0;
    for (let i = 0; i < 20; i++) clock.setTimeout(() => zeros++, 0);
    clock.increment(5);
    expect(fired).toEqual([7]);
    expect(zeros).toBe(20);
    expect(clock.now()).toBe(10);
  });

  it('fires a timer whose delay is NaN or negative at the next step, as a zero delay', () => {
    const clock = new TestClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('nan'), Number.NaN);
    clock.setTimeout(() => fired.push('negative'), -50);
    clock.setTimeout(() => fired.push('zero'), 0);
    clock.increment(0);
    expect(fired).toEqual(['nan', 'negative', 'zero']);
    expect(clock.pending).toBe(0);
  });

  it('stops a timer loop that never lets time pass with TIMER_LIMIT, instead of hanging', () => {
    // The loop ends by itself after 5,000 rounds, so a clock without a limit returns.
    const clock = new TestClock(0, { timerLimit: 1000 });
    let rounds = 0;
    const again = () => {
      if (++rounds < 5000) clock.setTimeout(again, 0);
    };
    clock.setTimeout(again, 0);
    let caught: unknown;
    try {
      clock.increment(100);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'TIMER_LIMIT', details: { limit: 1000, pending: 1 } });
    expect(rounds).toBe(1001);
    // Time stops where the last timer fired; the clock stays usable.
    expect(clock.now()).toBe(0);
    expect(clock.pending).toBe(1);
    expect(codeOf(() => clock.increment(100))).toBe('TIMER_LIMIT');
    expect(rounds).toBe(2001);
  });

  it('counts only a chain that lets no time pass: zero delays between real ones are no loop', () => {
    // 1,000 zero-delay timers in one advance, each after 10 ms have passed.
    const clock = new TestClock(0, { timerLimit: 100 });
    let zeros = 0;
    const zero = () => {
      zeros++;
      clock.setTimeout(tick, 10);
    };
    const tick = () => {
      clock.setTimeout(zero, 0);
    };
    clock.setTimeout(tick, 10);
    clock.increment(10_000);
    expect(zeros).toBe(1000);
    expect(clock.now()).toBe(10_000);
  });

  it('stops a loop on a delay too small to move an epoch time, as on a zero one', () => {
    const clock = new TestClock(Date.UTC(2026, 0, 1), { timerLimit: 1000 });
    let rounds = 0;
    const again = () => {
      if (++rounds < 5000) clock.setTimeout(again, 1e-6);
    };
    clock.setTimeout(again, 0);
    expect(() => clock.increment(100)).toThrow(expect.objectContaining({ code: 'TIMER_LIMIT' }));
    expect(rounds).toBe(1001);
  });

  it('never moves back when a timer advances the clock past the target itself', () => {
    const clock = new TestClock(0);
    clock.setTimeout(() => clock.increment(100), 5);
    clock.increment(10);
    expect(clock.now()).toBe(105);
  });

  it('keeps due order when most timers are cleared before time moves (the queue is rebuilt)', () => {
    const clock = new TestClock(0);
    const fired: number[] = [];
    const ids = Array.from({ length: 3000 }, (_, i) => {
      // Due times in a scrambled order, several timers due at once.
      const delay = (i * 7919) % 500;
      return { i, delay, id: clock.setTimeout(() => fired.push(i), delay) };
    });
    const kept = ids.filter(({ i }) => i % 10 === 3);
    for (const t of ids) if (t.i % 10 !== 3) clock.clearTimeout(t.id);
    expect(clock.pending).toBe(kept.length);
    clock.increment(499);
    const expected = [...kept].sort((a, b) => a.delay - b.delay || a.i - b.i).map((t) => t.i);
    expect(fired).toEqual(expected);
    expect(clock.pending).toBe(0);
  });

  it('fires timers set and cleared in any order exactly as a sorted list would (property)', () => {
    type Op =
      | { kind: 'set'; delay: number }
      | { kind: 'clear'; pick: number }
      | { kind: 'advance'; ms: number };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), delay: fc.integer({ min: -5, max: 60 }) }),
      fc.record({ kind: fc.constant('clear' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops: Op[]) => {
        const clock = new TestClock(0);
        // The model: every live timer in a list, the earliest (then the oldest) first.
        let model: Array<{ id: number; dueAt: number; seq: number }> = [];
        const fired: number[] = [];
        const expected: number[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'set') {
            const id = clock.setTimeout(() => fired.push(id), o.delay);
            model.push({ id, dueAt: clock.now() + Math.max(0, o.delay), seq: seq++ });
          } else if (o.kind === 'clear') {
            const t = model[o.pick % Math.max(1, model.length)];
            if (t) {
              clock.clearTimeout(t.id);
              model = model.filter((m) => m !== t);
            }
          } else {
            const to = clock.now() + o.ms;
            const due = model
              .filter((m) => m.dueAt <= to)
              .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
            expected.push(...due.map((m) => m.id));
            model = model.filter((m) => m.dueAt > to);
            clock.increment(o.ms);
          }
          expect(clock.pending).toBe(model.length);
        }
        expect(fired).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
