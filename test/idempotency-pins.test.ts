import { describe, expect, it } from 'vitest';
import { IdempotencyLog } from '../src/idempotency.js';

/** Keys of mail applied but not yet deleted must outlive maxKeys and the retention (see remote-delivery). */
describe('IdempotencyLog pins', () => {
  const bounds = { maxKeys: 2, retentionMs: 1000 };

  it('a pinned key is kept past maxKeys: the oldest unpinned keys go instead', () => {
    const log = new IdempotencyLog();
    log.add('mail', 0, bounds);
    log.pin('mail');
    for (const key of ['a', 'b', 'c']) log.add(key, 1, bounds);
    expect(log.has('mail', 2, bounds)).toBe(true);
    expect(log.toJSON().map(([k]) => k)).toEqual(['mail', 'c']);
    log.unpin('mail');
    log.add('d', 3, bounds);
    expect(log.has('mail', 3, bounds)).toBe(false);
  });

  it('a pinned key is kept past the retention until unpinned', () => {
    const log = new IdempotencyLog();
    log.add('mail', 0, bounds);
    log.pin('mail');
    expect(log.has('mail', 5000, bounds)).toBe(true);
    expect(log.pinned).toBe(true);
    log.unpin('mail');
    expect(log.pinned).toBe(false);
    expect(log.has('mail', 5000, bounds)).toBe(false);
  });
});
