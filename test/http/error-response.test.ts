import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { errorResponse } from '../../src/http/error-response.js';

describe('errorResponse', () => {
  // A rolling deploy: this process lacks the machine (or its newer version) an
  // instance needs, and left it for a process that has it. That is neither the
  // client's fault (404) nor a server bug (500): the client should retry, which a
  // load balancer will send to another replica.
  it.each([
    ['MIGRATION_FAILED', { id: 'c', machineVersion: 2, version: 1, leftForAnotherProcess: true }],
    ['UNKNOWN_MACHINE', { id: 'b', type: 'beacon', leftForAnotherProcess: true }],
  ] as const)(
    'answers %s for a record left for another process with 503 and Retry-After',
    async (code, details) => {
      const response = errorResponse(
        new RegistryError(code, 'left for another process', { details }),
      );
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    },
  );

  it('still answers an unknown type named by the client with 404, and a failed migration with 500', () => {
    expect(errorResponse(new RegistryError('UNKNOWN_MACHINE', 'no such type')).status).toBe(404);
    expect(errorResponse(new RegistryError('MIGRATION_FAILED', 'migrate threw')).status).toBe(500);
  });

  // It answered 500 without its details: the ID is taken by a record left in place, a conflict the operator resolves.
  it('answers QUARANTINE_FAILED (an ID whose record was left in place) with 409 and its details', async () => {
    const response = errorResponse(
      new RegistryError('QUARANTINE_FAILED', 'left in place', {
        details: { key: 'c.json', id: 'c' },
      }),
    );
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({
      error: { code: 'QUARANTINE_FAILED', details: { key: 'c.json', id: 'c' } },
    });
  });
});
