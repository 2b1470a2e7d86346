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
    r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    await expect(r.stop('c', reason as unknown as string)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/stop reason must be a string/),
    });
    await expect(r.actor('counter', 'c').stop(reason as unknown as string)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect((await r.getStatus('c'))?.status).toBe('running');
    r = await r.restart();
    expect((await r.quarantined()).items).toEqual([]);
    expect((await r.getStatus('c'))?.status).toBe('running');
    // A string reason still stops it, and is kept across a restart.
    await r.stop('c', 'done with it');
    r = await r.restart();
    expect(await r.getStatus('c')).toMatchObject({ status: 'stopped', stopReason: 'done with it' });
  });
});
