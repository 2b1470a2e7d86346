import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { Instance } from '../src/instance.js';
import { toInstanceId } from '../src/instance-id.js';
import { InstanceTable } from '../src/instance-table.js';
import { type Life, moveTo, TRANSITIONS } from '../src/lifecycle.js';
import { resolveMachines } from '../src/machines.js';
import { TestClock } from '../src/testing/index.js';

const def = resolveMachines({ m: setup({}).createMachine({}) }).get('m') as never;

function table() {
  const retired: string[] = [];
  const clock = new TestClock();
  const t = new InstanceTable({
    clock,
    writes: {
      markDirty: () => {},
      retire: (i, lost) => retired.push(`${i.id}${lost ? `:${lost.code}` : ''}`),
    },
  });
  const released: string[] = [];
  t.useLeases({ finished: (i) => released.push(i.id) });
  return { t, retired, clock, released };
}

describe('instance lifecycle', () => {
  it('allows exactly the moves of its transition table; gone is terminal', () => {
    const all: Life[] = ['live', 'passive', 'finished', 'gone'];
    for (const from of all) {
      for (const to of all) {
        const subject = { id: 'x', life: from };
        const legal = from === to || TRANSITIONS[from].includes(to);
        if (legal) expect(() => moveTo(subject, to)).not.toThrow();
        else expect(() => moveTo(subject, to)).toThrow(/cannot go from/);
      }
    }
    expect(TRANSITIONS.gone).toEqual([]);
    expect(TRANSITIONS.finished).toEqual(['gone']);
  });

  it('the table admits, passivates, activates, finishes and drops, keeping the invariants', async () => {
    const { t, retired, clock, released } = table();
    const a = new Instance(toInstanceId('a'), def, 1);
    t.admit(a);
    expect(a.life).toBe('live');
    t.sleep(a);
    expect(a.passive).toBe(true);
    let woke = false;
    a.wakeTimer = clock.setTimeout(() => {
      woke = true;
    }, 10);
    t.wake(a);
    expect(a.life).toBe('live');
    await clock.increment(20);
    expect(woke).toBe(false); // waking clears the wake-up timer
    t.changed(a);
    expect(released).toEqual([]); // running: keeps its lease
    a.writeLife({ status: 'done' });
    t.changed(a);
    expect(a.life).toBe('finished');
    expect(released).toEqual(['a']); // finished instances are nobody's
    let told = 0;
    a.waiters = new Set([() => told++]);
    t.drop(a);
    expect(a.gone).toBe(true);
    expect(t.get('a')).toBeUndefined();
    expect(told).toBe(1);
    expect(retired).toEqual(['a']);
    expect(() => t.sleep(a)).toThrow(/cannot go from gone to passive/);
  });

  it('admitting a replacement drops the instance it replaces', () => {
    const { t, retired } = table();
    const old = new Instance(toInstanceId('x'), def, 1);
    old.writeLife({ status: 'done' });
    t.admit(old);
    expect(old.life).toBe('finished');
    const fresh = new Instance(toInstanceId('x'), def, 2);
    t.admit(fresh);
    expect(old.gone).toBe(true);
    expect(t.get('x')).toBe(fresh);
    expect(retired).toEqual(['x']);
    expect(t.page({}).items).toEqual([fresh]);
  });
});
