import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../src/keyed-mutex.js';

describe('KeyedMutex', () => {
  it('runs work for one key in call order, after a failure too, and forgets the key after', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    let release!: () => void;
    const first = mutex.run('k', async () => {
      order.push('first');
      await new Promise<void>((r) => {
        release = r;
      });
      throw new Error('first failed');
    });
    const second = mutex.run('k', () => {
      order.push('second');
      return 2;
    });
    const other = mutex.run('other', () => order.push('other'));
    await other;
    expect(order).toEqual(['first', 'other']);
    expect(mutex.isLocked('k')).toBe(true);
    release();
    await expect(first).rejects.toThrow('first failed');
    await expect(second).resolves.toBe(2);
    expect(order).toEqual(['first', 'other', 'second']);
    await mutex.drain();
    expect(mutex.isLocked('k')).toBe(false);
    expect(mutex.isLocked('other')).toBe(false);
  });

  it('runNow runs at once on a free key, after earlier work on a busy one, and holds the key for later work', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    let release!: () => void;
    const first = mutex.runNow('k', async () => {
      order.push('first');
      await new Promise<void>((r) => {
        release = r;
      });
      return 1;
    });
    // At once, in the call.
    expect(order).toEqual(['first']);
    expect(mutex.isLocked('k')).toBe(true);
    const second = mutex.runNow('k', async () => {
      order.push('second');
      return 2;
    });
    const third = mutex.run('k', () => order.push('third'));
    await Promise.resolve();
    expect(order).toEqual(['first']);
    release();
    await expect(first).resolves.toBe(1);
    await expect(second).resolves.toBe(2);
    await third;
    expect(order).toEqual(['first', 'second', 'third']);
    await mutex.drain();
    expect(mutex.isLocked('k')).toBe(false);
    // A synchronous throw is the call's rejection, and leaves the key free.
    await expect(
      mutex.runNow('k', () => {
        throw new Error('at once');
      }),
    ).rejects.toThrow('at once');
    expect(mutex.isLocked('k')).toBe(false);
  });

  it('drain waits for queued work and does not throw when some of it failed', async () => {
    const mutex = new KeyedMutex();
    let done = false;
    const failing = mutex.run('a', () => {
      throw new Error('nope');
    });
    failing.catch(() => {});
    void mutex.run('a', async () => {
      await new Promise((r) => setTimeout(r, 1));
      done = true;
    });
    await mutex.drain();
    expect(done).toBe(true);
    expect(mutex.isLocked('a')).toBe(false);
  });
});
