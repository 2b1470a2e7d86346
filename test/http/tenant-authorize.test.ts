/**
 * The documented tenant policy (one tenant per ID prefix) was written for a
 * target that named only single instances: `target.id === undefined ||
 * target.id.startsWith(tenant)`. Lists, counts, event streams and the
 * set-aside records reach many instances and passed `{}`, so that policy let a
 * tenant list, count and stream every other tenant's instances, context
 * included. Their target now names the ID prefix they are limited to, and
 * the documented policy (copied here) denies what reaches beyond the tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createRegistry, type Registry } from '../../src/index.js';
import { type Listening, serve, tenantPolicy } from './support.js';

/** The example of HttpTarget's TSDoc and the README, as a user would copy it. */
const authorize = tenantPolicy;

describe('a tenant policy keyed on ID prefixes', () => {
  let registry: Registry<typeof demoMachines>;
  let server: Listening;
  beforeAll(async () => {
    registry = createRegistry({ machines: demoMachines });
    await registry.start();
    await registry.spawnSingleton('approval', 'a/1', { input: { subject: 'mine' } });
    await registry.spawnSingleton('approval', 'b/secret', { input: { subject: 'theirs' } });
    server = await serve(registry, { authorize });
  });
  afterAll(async () => {
    await server.close();
    await registry.close();
  });
  const get = async (path: string) => {
    const controller = new AbortController();
    const r = await fetch(`${server.base}${path}`, {
      headers: { 'x-tenant': 'a' },
      signal: controller.signal,
    });
    // An event stream never ends: its first answer is enough.
    const text = r.headers.get('content-type')?.startsWith('text/event-stream')
      ? ''
      : await r.text();
    controller.abort();
    return { status: r.status, text };
  };

  it.each([
    ['every instance', '/instances'],
    ["the other tenant's", '/instances?idPrefix=b%2F'],
    ['a prefix that spans tenants', '/instances?idPrefix=a'],
    ['counts of every instance', '/counts'],
    ["counts of the other tenant's", '/counts?idPrefix=b%2F'],
    ['an event stream of every instance', '/events'],
    ["an event stream of the other tenant's", '/events?idPrefix=b%2F'],
    ['the set-aside records of every instance', '/quarantine'],
    ["the other tenant's instance", '/instances/b%2Fsecret'],
  ])('%s: 403', async (_, path) => {
    const answer = await get(path);
    expect(answer.status).toBe(403);
    expect(answer.text).not.toContain('theirs');
  });

  it.each([
    ['its own instances', '/instances?idPrefix=a%2F', 200],
    ['their counts', '/counts?idPrefix=a%2F', 200],
    ['their event stream', '/events?idPrefix=a%2F', 200],
    ['its own instance', '/instances/a%2F1', 200],
  ])('%s: allowed, and only its own', async (_, path, status) => {
    const answer = await get(path);
    expect(answer.status).toBe(status);
    expect(answer.text).not.toContain('b/secret');
    expect(answer.text).not.toContain('theirs');
  });
});
