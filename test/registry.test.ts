import { afterEach, describe, expect, it, vi } from 'vitest';
import { createActor, createMachine, type InspectionEvent } from 'xstate';
import {
  createRegistry,
  type InstanceStatus,
  MemoryStore,
  type RegistryError,
} from '../src/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { entries, machines } from './fixtures.js';

let open: Array<{ close(): Promise<void> }> = [];
async function testRegistry(
  extra: Record<string, unknown> = {},
): Promise<TestRegistry<typeof machines>> {
  const r = await createTestRegistry({ machines, ...extra });
  open.push(r);
  return r;
}
afterEach(async () => {
  await Promise.allSettled(open.map((r) => r.close()));
  open = [];
  entries.clear();
});

/** A registry, not yet started, over a store that holds one running counter 'a'. */
async function unstartedOverOneInstance() {
  const store = new MemoryStore();
  const first = await createTestRegistry({ machines, store });
  await first.spawnSingleton('counter', 'a');
  await first.close();
  const r = createRegistry({ machines, store });
  open.push(r);
  return r;
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return (err as RegistryError).code;
  }
  return undefined;
}

describe('spawnSingleton', () => {
  it('creates the actor under the given ID, then returns the same object', async () => {
    const r = await testRegistry();
    const a = await r.spawnSingleton('counter', 'c1', { input: { label: 'first' } });
    const b = await r.spawnSingleton('counter', 'c1', { input: { label: 'second' } });
    expect(a).toBe(b);
    expect(a.id).toBe('c1');
    expect(a.getSnapshot().context.label).toBe('first');
    expect(entries.get('c1')).toBe(1);
    expect(r.get('c1')).toBe(a);
  });

  it('tells the caller whether it created the instance', async () => {
    const r = await testRegistry();
    const first = await r.ensureSingleton('counter', 'c1');
    const second = await r.ensureSingleton('counter', 'c1');
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.status.status).toBe('running');
  });

  it("ifRunning: 'throw' rejects with INSTANCE_EXISTS", async () => {
    const r = await testRegistry();
    await r.spawnSingleton('counter', 'c1');
    expect(await codeOf(r.spawnSingleton('counter', 'c1', { ifRunning: 'throw' }))).toBe(
      'INSTANCE_EXISTS',
    );
  });

  for (const how of ['done', 'error', 'stopped'] as const) {
    it(`ifFinished policies on a ${how} instance`, async () => {
      const r = await testRegistry();
      const first = await r.spawnSingleton('counter', 'c1', { input: { label: 'old' } });
      if (how === 'done') first.send({ type: 'FINISH' });
      if (how === 'error') first.send({ type: 'BOOM' });
      if (how === 'stopped') await r.stop('c1', 'enough');
      expect((await r.getStatus('c1'))?.status).toBe(how);
      expect(r.get('c1')).toBeUndefined();

      expect(await r.spawnSingleton('counter', 'c1')).toBe(first); // 'return' is the default
      expect(await codeOf(r.spawnSingleton('counter', 'c1', { ifFinished: 'throw' }))).toBe(
        'INSTANCE_EXISTS',
      );
      // A running-only policy does not apply to finished instances.
      expect(await r.spawnSingleton('counter', 'c1', { ifRunning: 'throw' })).toBe(first);

      const fresh = await r.ensureSingleton('counter', 'c1', {
        ifFinished: 'replace',
        input: { label: 'new' },
      });
      expect(fresh.created).toBe(true);
      expect(fresh.actor).not.toBe(first);
      expect(fresh.actor.getSnapshot().context.label).toBe('new');
      expect((await r.getStatus('c1'))?.status).toBe('running');
      expect(entries.get('c1')).toBe(2);
    });
  }

  it('after a restart, a finished instance is returned as an inert actor with its last snapshot', async () => {
    let r = await testRegistry();
    const a = await r.spawnSingleton('counter', 'c1');
    a.send({ type: 'INC' });
    a.send({ type: 'FINISH' });
    r = await r.restart();
    open.push(r);
    expect(r.get('c1')).toBeUndefined();
    const again = await r.ensureSingleton('counter', 'c1');
    expect(again.created).toBe(false);
    expect(again.actor.getSnapshot().context.count).toBe(1);
    expect(again.status.output).toEqual({ total: 1 });
    expect(entries.get('c1')).toBe(1);
  });

  // Its record holds the snapshot it had while active: the inert actor said
  // 'active' after a restart where the live one had said 'stopped' (found by an attack).
  it('after a restart, a stopped instance is returned as an inert actor that says stopped, as before it', async () => {
    let r = await testRegistry();
    const live = await r.spawnSingleton('counter', 'c1');
    live.send({ type: 'INC' });
    await r.stop('c1', 'bye');
    expect(live.getSnapshot().status).toBe('stopped');
    r = await r.restart();
    open.push(r);
    const again = await r.spawnSingleton('counter', 'c1');
    expect((await r.getStatus('c1'))?.status).toBe('stopped');
    expect(again.getSnapshot().status).toBe('stopped');
    expect(again.getSnapshot().context.count).toBe(1);
  });

  it('rejects an ID that exists with another type with TYPE_MISMATCH, and unknown types with UNKNOWN_MACHINE', async () => {
    const r = await testRegistry();
    await r.spawnSingleton('counter', 'x');
    expect(await codeOf(r.spawnSingleton('reminder', 'x'))).toBe('TYPE_MISMATCH');
    expect(await codeOf(r.spawnSingleton('nope' as never, 'y'))).toBe('UNKNOWN_MACHINE');
    expect(await r.getStatus('y')).toBeUndefined();
  });

  it('rejects invalid options with INVALID_ARGUMENT', async () => {
    const r = await testRegistry();
    expect(await codeOf(r.spawnSingleton('counter', 'x', { ifRunning: 'maybe' as never }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(r.spawnSingleton('counter', 'x', { ifFinished: 'maybe' as never }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('spawn', () => {
  it('creates instances under distinct generated IDs', async () => {
    const r = await testRegistry();
    const a = await r.spawn('counter');
    const b = await r.spawn('counter', { input: { label: 'b' } });
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[\w-]{21}$/);
    expect(b.getSnapshot().context.label).toBe('b');
    expect((await r.list()).items).toHaveLength(2);
  });
});

describe('instance IDs', () => {
  const valid = [
    'a',
    'tenant/42/job',
    '.',
    '..',
    '../../etc/passwd',
    'with space',
    'CON',
    'ünïcödé',
    '日本語',
    '🙂',
    'x'.repeat(256),
    'C:\\Windows',
  ];
  const invalid: unknown[] = [
    '',
    'x'.repeat(257),
    'a\u0000b',
    'tab\there',
    'line\nbreak',
    'del\u007f',
    42,
    null,
    undefined,
    {},
  ];

  it.each(valid)('accepts %j', async (id) => {
    const r = await testRegistry();
    const a = await r.spawnSingleton('counter', id);
    expect(a.id).toBe(id);
    await r.send(id, { type: 'INC' });
    expect((await r.getStatus(id))?.context).toEqual({ count: 1, label: 'none' });
  });

  it.each(invalid.map((v) => [v]))('rejects %j with INVALID_INSTANCE_ID everywhere', async (id) => {
    const r = await testRegistry();
    const bad = id as string;
    expect(await codeOf(r.spawnSingleton('counter', bad))).toBe('INVALID_INSTANCE_ID');
    expect(await codeOf(r.send(bad, { type: 'INC' }))).toBe('INVALID_INSTANCE_ID');
    expect(await codeOf(r.getStatus(bad))).toBe('INVALID_INSTANCE_ID');
    expect(await codeOf(r.stop(bad))).toBe('INVALID_INSTANCE_ID');
    expect(await codeOf(r.purge(bad))).toBe('INVALID_INSTANCE_ID');
    expect(await codeOf(r.waitFor(bad, 'done'))).toBe('INVALID_INSTANCE_ID');
    expect(r.store.size).toBe(0);
  });
});

describe('send', () => {
  it('delivers events, and rejects unknown IDs, finished instances and malformed events', async () => {
    const r = await testRegistry();
    const a = await r.spawnSingleton('counter', 'c1');
    await r.send('c1', { type: 'INC' });
    expect(a.getSnapshot().context.count).toBe(1);
    expect(await codeOf(r.send('missing', { type: 'INC' }))).toBe('INSTANCE_NOT_FOUND');
    for (const bad of [null, undefined, 'INC', 42, [], {}, { type: 1 }, { type: '' }]) {
      expect(await codeOf(r.send('c1', bad as never))).toBe('INVALID_EVENT');
    }
    expect(a.getSnapshot().context.count).toBe(1);
    await r.send('c1', { type: 'FINISH' });
    expect(await codeOf(r.send('c1', { type: 'INC' }))).toBe('INSTANCE_NOT_RUNNING');
  });
});

describe('getStatus and list', () => {
  it('returns a JSON-serialisable status, including an actor with children in its context', async () => {
    const r = await testRegistry();
    await r.spawnSingleton('reminder', 'rem');
    const status = (await r.getStatus('rem')) as InstanceStatus;
    expect(JSON.parse(JSON.stringify(status))).toEqual(status);
    expect(status).toMatchObject({
      id: 'rem',
      type: 'reminder',
      status: 'running',
      value: 'waiting',
      context: { log: [] },
    });
    expect(status.createdAt).toBe('2026-01-01T00:00:00.000Z');
    r.clock.increment(1000);
    const later = (await r.getStatus('rem')) as InstanceStatus;
    expect(later.value).toBe('reminded');
    expect(later.updatedAt).toBe('2026-01-01T00:00:01.000Z');
    expect(later.createdAt).toBe(status.createdAt);
    expect(await r.getStatus('nobody')).toBeUndefined();
  });

  it('reports output and error', async () => {
    const r = await testRegistry();
    (await r.spawnSingleton('counter', 'ok')).send({ type: 'FINISH' });
    (await r.spawnSingleton('counter', 'bad')).send({ type: 'BOOM' });
    expect(await r.getStatus('ok')).toMatchObject({ status: 'done', output: { total: 0 } });
    expect(await r.getStatus('bad')).toMatchObject({
      status: 'error',
      error: { name: 'Error', message: 'kaboom' },
    });
  });

  it('filters by status, type and time, and pages with a cursor', async () => {
    const r = await testRegistry();
    for (let i = 0; i < 25; i++) {
      await r.spawnSingleton(
        i % 5 === 0 ? 'reminder' : 'counter',
        `i${String(i).padStart(2, '0')}`,
      );
      r.clock.increment(10);
    }
    await r.send('i01', { type: 'FINISH' });
    await r.stop('i02');
    expect((await r.list({ status: 'done' })).items.map((s) => s.id)).toEqual(['i01']);
    expect((await r.list({ status: ['done', 'stopped'] })).items.map((s) => s.id)).toEqual([
      'i01',
      'i02',
    ]);
    expect((await r.list({ type: 'reminder' })).items).toHaveLength(5);
    const t0 = Date.UTC(2026, 0, 1);
    expect(
      (await r.list({ createdFrom: t0 + 100, createdTo: new Date(t0 + 140) })).items.map(
        (s) => s.id,
      ),
    ).toEqual(['i10', 'i11', 'i12', 'i13', 'i14']);
    expect(
      (await r.list({ updatedFrom: new Date(t0 + 250).toISOString() })).items.map((s) => s.id),
    ).toEqual(['i01', 'i02']);

    const seen: string[] = [];
    let page = await r.list({ limit: 7 });
    seen.push(...page.items.map((s) => s.id));
    while (page.cursor) {
      page = await r.list({ limit: 7, cursor: page.cursor });
      seen.push(...page.items.map((s) => s.id));
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(seen).toEqual([...seen].sort());
  });

  it('rejects bad filters with INVALID_ARGUMENT', async () => {
    const r = await testRegistry();
    for (const bad of [
      { limit: 0 },
      { limit: 1001 },
      { limit: 1.5 },
      { cursor: 'garbage' },
      // Forged in the format handed out: a time no instance can have (JSON's 1e999 is Infinity).
      { cursor: Buffer.from('[1e999,"x"]').toString('base64url') },
      { cursor: Buffer.from('[-1e999,"x"]').toString('base64url') },
      { cursor: Buffer.from('[1e300,"x"]').toString('base64url') },
      { cursor: Buffer.from('[1e999,"x","u"]').toString('base64url'), order: 'updated' },
      { status: 'zombie' },
      { createdFrom: 'not a date' },
    ]) {
      expect(await codeOf(r.list(bad as never))).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('waitFor', () => {
  it('resolves on a status, a list or a predicate, and times out on the registry clock', async () => {
    const r = await testRegistry();
    await r.spawnSingleton('reminder', 'rem');
    const reminded = r.waitFor('rem', (s) => s.value === 'reminded');
    const done = r.waitFor('rem', ['done', 'error']);
    const timeout = r.waitFor('rem', 'done', { timeoutMs: 5000 });
    r.clock.increment(1000);
    expect((await reminded).value).toBe('reminded');
    r.clock.increment(4000);
    expect(await codeOf(timeout)).toBe('TIMEOUT');
    r.clock.increment(86_400_000);
    expect((await done).status).toBe('done');
    expect((await r.waitFor('rem', 'done')).status).toBe('done'); // already there
  });

  it('rejects for unknown IDs, bad conditions, purges and close', async () => {
    const r = await testRegistry();
    expect(await codeOf(r.waitFor('nobody', 'done'))).toBe('INSTANCE_NOT_FOUND');
    await r.spawnSingleton('counter', 'a');
    await r.spawnSingleton('counter', 'b');
    expect(await codeOf(r.waitFor('a', 'sleeping' as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(r.waitFor('a', 'done', { timeoutMs: -1 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(r.waitFor('a', 'done', { timeoutMs: Number.NaN }))).toBe(
      'INVALID_ARGUMENT',
    );
    const purged = r.waitFor('a', 'done');
    await r.purge('a', { force: true });
    expect(await codeOf(purged)).toBe('INSTANCE_NOT_FOUND');
    const closed = r.waitFor('b', 'done');
    await r.close();
    expect(await codeOf(closed)).toBe('REGISTRY_CLOSED');
  });
});

describe('stop and purge', () => {
  it('stop records the reason, keeps the instance and survives a restart', async () => {
    let r = await testRegistry();
    const stopped = vi.fn();
    r.on('stopped', stopped);
    const a = await r.spawnSingleton('reminder', 'rem');
    const status = await r.stop('rem', 'operator');
    expect(status).toMatchObject({ status: 'stopped', stopReason: 'operator', value: 'waiting' });
    expect(a.getSnapshot().status).toBe('stopped');
    expect(stopped).toHaveBeenCalledWith({ id: 'rem', type: 'reminder', reason: 'operator' });
    expect(await r.stop('rem')).toMatchObject({ status: 'stopped', stopReason: 'operator' }); // idempotent
    r.clock.increment(5000);
    r = await r.restart();
    open.push(r);
    expect(await r.getStatus('rem')).toMatchObject({ status: 'stopped', value: 'waiting' });
    expect(r.get('rem')).toBeUndefined();
    r.clock.increment(100_000_000);
    expect((await r.getStatus('rem'))?.value).toBe('waiting');
    expect(await codeOf(r.stop('ghost'))).toBe('INSTANCE_NOT_FOUND');
  });

  it('a direct actor.stop() is recorded as stopped too', async () => {
    const r = await testRegistry();
    const a = await r.spawnSingleton('counter', 'c');
    a.stop();
    expect(await r.getStatus('c')).toMatchObject({
      status: 'stopped',
      stopReason: 'actor.stop() was called directly',
    });
  });

  it('purge forgets finished instances, and running ones only with force', async () => {
    const r = await testRegistry();
    const purged = vi.fn();
    r.on('purged', purged);
    const a = await r.spawnSingleton('counter', 'c');
    await r.flush();
    expect(r.store.peek('c')).toBeDefined();
    expect(await codeOf(r.purge('c'))).toBe('INSTANCE_RUNNING');
    expect(r.get('c')).toBe(a);
    await r.purge('c', { force: true });
    expect(a.getSnapshot().status).toBe('stopped');
    expect(await r.getStatus('c')).toBeUndefined();
    expect(r.store.peek('c')).toBeUndefined();
    expect(purged).toHaveBeenCalledWith({ id: 'c', type: 'counter' });
    (await r.spawnSingleton('counter', 'd')).send({ type: 'FINISH' });
    await r.purge('d');
    expect(await r.getStatus('d')).toBeUndefined();
    expect(await codeOf(r.purge('d'))).toBe('INSTANCE_NOT_FOUND');
    const again = await r.ensureSingleton('counter', 'd');
    expect(again.created).toBe(true);
    await r.flush();
    const restarted = await r.restart();
    open.push(restarted);
    expect(await restarted.getStatus('c')).toBeUndefined();
    expect((await restarted.getStatus('d'))?.status).toBe('running');
  });
});

describe('lifecycle of the registry', () => {
  it('rejects calls before start with REGISTRY_NOT_STARTED, and after close with REGISTRY_CLOSED', async () => {
    const r = createRegistry({ machines });
    expect(await codeOf(r.spawnSingleton('counter', 'a'))).toBe('REGISTRY_NOT_STARTED');
    expect(await codeOf(r.list())).toBe('REGISTRY_NOT_STARTED');
    await r.start();
    await r.spawnSingleton('counter', 'a');
    await r.close();
    for (const call of [
      () => r.spawnSingleton('counter', 'a'),
      () => r.send('a', { type: 'INC' }),
      () => r.getStatus('a'),
      () => r.list(),
      () => r.stop('a'),
      () => r.purge('a'),
      () => r.flush(),
      () => r.start(),
    ]) {
      expect(await codeOf(call)).toBe('REGISTRY_CLOSED');
    }
    await r.close(); // idempotent
  });

  it('calls made while start() runs wait for it', async () => {
    const r = await unstartedOverOneInstance();
    const starting = r.start();
    const actor = r.spawnSingleton('counter', 'a');
    const summary = await starting;
    expect(summary.restored).toBe(1);
    expect((await actor).id).toBe('a');
    expect(entries.get('a')).toBe(1); // restored, not created again
  });

  it('close() keeps every instance running in the store; start() resumes them all', async () => {
    let r = await testRegistry();
    const a = await r.spawnSingleton('counter', 'a');
    a.send({ type: 'INC' });
    a.send({ type: 'INC' });
    await r.spawnSingleton('reminder', 'rem');
    r = await r.restart();
    open.push(r);
    expect(a.getSnapshot().status).toBe('stopped'); // the old registry no longer hosts it
    expect(await r.getStatus('a')).toMatchObject({ status: 'running', context: { count: 2 } });
    expect(r.get('a')).not.toBe(a);
    expect(r.get('a')?.getSnapshot().context.count).toBe(2);
    expect(entries.get('a')).toBe(1);
  });

  it('validates options at creation', () => {
    expect(() => createRegistry({ machines: { x: {} as never } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => createRegistry({ machines, durability: 'fast' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => createRegistry(undefined as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('events', () => {
  it('emits typed lifecycle events', async () => {
    const r = await testRegistry();
    const seen: string[] = [];
    for (const name of ['spawned', 'transition', 'done', 'failed', 'stopped', 'purged'] as const) {
      r.on(name, (p: { id: string }) => seen.push(`${name}:${p.id}`));
    }
    const a = await r.spawnSingleton('counter', 'a');
    a.send({ type: 'INC' });
    a.send({ type: 'FINISH' });
    (await r.spawnSingleton('counter', 'b')).send({ type: 'BOOM' });
    await r.spawnSingleton('counter', 'c');
    await r.stop('c');
    await r.purge('c');
    expect(seen).toEqual([
      'spawned:a',
      'transition:a',
      'transition:a',
      'done:a',
      'spawned:b',
      'failed:b',
      'spawned:c',
      'stopped:c',
      'purged:c',
    ]);
  });

  it('emits restored for each resumed instance', async () => {
    const r = await unstartedOverOneInstance();
    const restored = vi.fn();
    r.on('restored', restored);
    await r.start();
    expect(restored).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'a', type: 'counter', actor: r.get('a') }),
    );
  });

  it('a throwing listener is reported as LISTENER_FAILED and breaks neither the registry nor the actor', async () => {
    const r = await testRegistry();
    const errors: RegistryError[] = [];
    r.on('error', (e) => errors.push(e));
    r.on('transition', () => {
      throw new Error('listener bug');
    });
    const later = vi.fn();
    r.on('transition', later);
    const a = await r.spawnSingleton('counter', 'a');
    await r.send('a', { type: 'INC' });
    a.send({ type: 'INC' });
    expect(a.getSnapshot().context.count).toBe(2);
    expect(later).toHaveBeenCalledTimes(2);
    expect(errors.map((e) => e.code)).toEqual(['LISTENER_FAILED', 'LISTENER_FAILED']);
    expect(errors[0]?.cause).toEqual(new Error('listener bug'));
  });

  it('a throwing error listener goes to the logger', async () => {
    const logger = vi.fn();
    const r = await testRegistry({ logger });
    r.on('error', () => {
      throw new Error('worse');
    });
    r.on('spawned', () => {
      throw new Error('bad');
    });
    await r.spawnSingleton('counter', 'a');
    expect(logger).toHaveBeenCalledWith(
      '[xstate-registry]',
      expect.objectContaining({ code: 'LISTENER_FAILED' }),
    );
  });

  it('once and off', async () => {
    const r = await testRegistry();
    const once = vi.fn();
    const off = vi.fn();
    r.once('spawned', once);
    r.on('spawned', off);
    r.off('spawned', off);
    await r.spawnSingleton('counter', 'a');
    await r.spawnSingleton('counter', 'b');
    expect(once).toHaveBeenCalledTimes(1);
    expect(off).not.toHaveBeenCalled();
  });
});

describe('failing actors', () => {
  it('an actor whose machine throws goes to error, is reported, and disturbs no other actor', async () => {
    const r = await testRegistry();
    const failed = vi.fn();
    r.on('failed', failed);
    const healthy = await r.spawnSingleton('counter', 'healthy');
    const doomed = await r.spawnSingleton('counter', 'doomed');
    doomed.send({ type: 'BOOM' });
    await r.spawnSingleton('failingOnStart', 'f1');
    await r.spawnSingleton('rejecting', 'p1');
    await r.waitFor('p1', 'error');
    healthy.send({ type: 'INC' });
    expect(healthy.getSnapshot().context.count).toBe(1);
    expect(failed.mock.calls.map(([p]) => [p.id, p.error.message])).toEqual([
      ['doomed', 'kaboom'],
      ['f1', 'entry failed'],
      ['p1', 'work failed'],
    ]);
    for (const id of ['doomed', 'f1', 'p1']) expect((await r.getStatus(id))?.status).toBe('error');
    await r.flush();
    const again = await r.restart();
    open.push(again);
    expect(await again.getStatus('doomed')).toMatchObject({
      status: 'error',
      error: { message: 'kaboom' },
    });
  });
});

describe('XState options pass through', () => {
  it('inspect sees every actor; a throwing inspector is reported', async () => {
    const events: InspectionEvent[] = [];
    const r = await testRegistry({ inspect: (e: InspectionEvent) => events.push(e) });
    await r.spawnSingleton('reminder', 'rem');
    expect(
      events.some(
        (e) => e.type === '@xstate.actor' && (e.actorRef as { id?: string }).id === 'rem',
      ),
    ).toBe(true);
    expect(
      events.some(
        (e) => e.type === '@xstate.actor' && (e.actorRef as { id?: string }).id === 'kid',
      ),
    ).toBe(true);
    const errors = vi.fn();
    const r2 = await testRegistry({
      inspect: {
        next: () => {
          throw new Error('inspector bug');
        },
      },
    });
    r2.on('error', errors);
    const a = await r2.spawnSingleton('counter', 'a');
    a.send({ type: 'INC' });
    expect(a.getSnapshot().context.count).toBe(1);
    expect(errors).toHaveBeenCalled();
  });

  it('logger reaches the actors', async () => {
    const logger = vi.fn();
    const logging = createMachine({
      entry: ({ self }) => self.system._logger('hello from', self.id),
    });
    const r = await createTestRegistry({ machines: { logging }, logger });
    open.push(r);
    await r.spawnSingleton('logging', 'l1');
    expect(logger).toHaveBeenCalledWith('hello from', 'l1');
  });

  it('the registry clock drives XState timers; the bare actor is unaffected', async () => {
    const r = await testRegistry();
    const a = await r.spawnSingleton('reminder', 'rem');
    r.clock.increment(999);
    expect(a.getSnapshot().value).toBe('waiting');
    r.clock.increment(1);
    expect(a.getSnapshot().value).toBe('reminded');
    const bare = createActor(machines.reminder).start();
    expect(bare.getSnapshot().value).toBe('waiting');
    bare.stop();
  });
});
