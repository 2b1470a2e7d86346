/**
 * A handle names its type: `registry.actor('reminder', 'c')` on a counter
 * answered TYPE_MISMATCH from getSnapshot() and waitFor(), but its send() and
 * stop() went through, so a handle of one type fed or stopped an instance of
 * another (for example one that took the ID after a purge).
 */
import { afterEach, expect, it } from 'vitest';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { entries, machines } from './fixtures.js';

let r: TestRegistry<typeof machines> | undefined;
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
  entries.clear();
});

it('a handle of another type neither feeds nor stops the instance', async () => {
  const reg = await createTestRegistry({ machines });
  r = reg;
  await reg.spawnSingleton('counter', 'c');
  const wrong = reg.actor('reminder', 'c');
  await expect(wrong.getSnapshot()).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
  await expect(wrong.send({ type: 'INC' } as never)).rejects.toMatchObject({
    code: 'TYPE_MISMATCH',
    details: { id: 'c', type: 'reminder', existingType: 'counter' },
  });
  await expect(wrong.send({ type: 'INC' } as never, { idempotencyKey: 'k' })).rejects.toMatchObject(
    { code: 'TYPE_MISMATCH' },
  );
  await expect(wrong.stop('wrong handle')).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
  // Nor does its subscriber hear the counter's changes.
  const heard: string[] = [];
  wrong.subscribe((s) => heard.push(s.type));
  expect(await reg.getStatus('c')).toMatchObject({ status: 'running', context: { count: 0 } });
  // The right handle still works, on the fast path and the slow one.
  await reg.actor('counter', 'c').send({ type: 'INC' });
  await reg.actor('counter', 'c').send({ type: 'INC' }, { idempotencyKey: 'k' });
  expect(await reg.getStatus('c')).toMatchObject({ context: { count: 2 } });
  expect(heard).toEqual([]);
  await expect(reg.actor('counter', 'c').stop('right handle')).resolves.toMatchObject({
    status: 'stopped',
  });
});

it('a handle held across a purge does not reach an instance of another type under its ID', async () => {
  const reg = await createTestRegistry({ machines });
  r = reg;
  await reg.spawnSingleton('counter', 'x');
  const held = reg.actor('counter', 'x');
  await reg.purge('x', { force: true });
  await reg.spawnSingleton('reminder', 'x');
  const before = await reg.getStatus('x');
  await expect(held.send({ type: 'INC' })).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
  await expect(held.stop()).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
  expect(await reg.getStatus('x')).toEqual(before);
  // registry.send and stop take the same check, by name.
  await expect(reg.send('x', { type: 'INC' } as never, { type: 'counter' })).rejects.toMatchObject({
    code: 'TYPE_MISMATCH',
  });
  await expect(reg.stop('x', undefined, { type: 'counter' })).rejects.toMatchObject({
    code: 'TYPE_MISMATCH',
  });
});
