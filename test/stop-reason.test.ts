/**
 * A stop reason that is not a string was accepted and written: the registry's
 * own loader refuses such a record, so after a restart the stopped instance was
 * set aside (gone from getStatus and list). It is now refused up front.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { entries, machines } from './fixtures.js';

let r: TestRegistry<typeof machines> | undefined;
afterEach(async () => {
  await r?.close().catch(() => {});
  r = undefined;
  entries.clear();
});

describe.each([123, null, { why: 'x' }, ['x'], true])('stop with the reason %j', (reason) => {
  it('is refused with INVALID_ARGUMENT; the instance runs on and survives a restart', async () => {
    let reg = await createTestRegistry({ machines });
    r = reg;
    await reg.spawnSingleton('counter', 'c');
    await expect(reg.stop('c', reason as unknown as string)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/stop reason must be a string/),
    });
    await expect(reg.actor('counter', 'c').stop(reason as unknown as string)).rejects.toMatchObject(
      {
        code: 'INVALID_ARGUMENT',
      },
    );
    expect((await reg.getStatus('c'))?.status).toBe('running');
    reg = await reg.restart();
    r = reg;
    expect((await reg.quarantined())?.items ?? []).toEqual([]);
    expect((await reg.getStatus('c'))?.status).toBe('running');
    // A string reason still stops it, and is kept across a restart.
    await reg.stop('c', 'done with it');
    reg = await reg.restart();
    r = reg;
    expect(await reg.getStatus('c')).toMatchObject({
      status: 'stopped',
      stopReason: 'done with it',
    });
  });
});
