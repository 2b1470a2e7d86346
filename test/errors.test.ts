import { describe, expect, expectTypeOf, it } from 'vitest';
import { HttpError, type HttpErrorCode, isHttpError } from '../src/http/index.js';
import { isRegistryError, RegistryError, type RegistryErrorCode } from '../src/index.js';
import { createTestRegistry } from '../src/testing/index.js';
import { machines } from './fixtures.js';

describe('error codes and details', () => {
  it('narrows details by code', async () => {
    const r = await createTestRegistry({ machines });
    await r.spawnSingleton('counter', 'c');
    const err = await r.spawnSingleton('reminder', 'c').catch((e: unknown) => e);
    expect(isRegistryError(err, 'TYPE_MISMATCH')).toBe(true);
    if (isRegistryError(err, 'TYPE_MISMATCH')) {
      expectTypeOf(err.details).toEqualTypeOf<
        Readonly<{ id: string; type: string; existingType: string }>
      >();
      expect(err.details).toEqual({ id: 'c', type: 'reminder', existingType: 'counter' });
    }
    const missing = await r.send('nope', { type: 'INC' }).catch((e: unknown) => e);
    if (!isRegistryError(missing, 'INSTANCE_NOT_FOUND')) throw missing;
    expectTypeOf(missing.details.id).toBeString();
    expect(missing.details.id).toBe('nope');
    const owned = new RegistryError('OWNED_ELSEWHERE', 'x', { details: { id: 'a', owner: 'b' } });
    if (isRegistryError(owned, 'OWNED_ELSEWHERE'))
      expectTypeOf(owned.details.leaseExpiresAt).toEqualTypeOf<number | undefined>();
    // @ts-expect-error details of the wrong shape for the code
    void new RegistryError('INSTANCE_NOT_FOUND', 'x', { details: { ident: 'a' } });
    await r.close();
  });

  it('keeps HTTP-only codes out of the registry codes, in an HttpError that is a RegistryError', () => {
    expectTypeOf<'ROUTE_NOT_FOUND'>().not.toExtend<RegistryErrorCode>();
    expectTypeOf<'ROUTE_NOT_FOUND'>().toExtend<HttpErrorCode>();
    // Unused codes are gone.
    expectTypeOf<'ACTOR_FAILED'>().not.toExtend<RegistryErrorCode>();
    expectTypeOf<'BACKPRESSURE'>().not.toExtend<RegistryErrorCode>();
    const err = new HttpError('PAYLOAD_TOO_LARGE', 'too big', { details: { limit: 10 } });
    expect(err).toBeInstanceOf(RegistryError);
    expect(isHttpError(err, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(err.toJSON()).toMatchObject({ name: 'RegistryError', code: 'PAYLOAD_TOO_LARGE' });
  });
});
