import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { TestClock } from '../../src/testing/index.js';
import { machines } from '../fixtures.js';
import { freshTable, noPg, pgRegistries, server, sql, until as untilWithin } from './helpers.js';
import { type Worker, workerPool } from './workers.js';

// Any process reaches any instance (issue 14): real processes on one database,
// messages through the inbox table. No wall-clock assertions: only bounds on waiting.

const start = workerPool(server.url);
/**
 * For tests about where an instance is hosted, not about takeovers: with two
 * test files at once, a process starved of CPU past a 1 s lease would lose
 * its instances mid-test.
 */
const LONG_LEASE = 30_000;

const until = <T>(
  read: () => Promise<T>,
  check: (v: T) => boolean,
  what: string,
  limitMs = 40_000,
) => untilWithin(read, check, what, limitMs);

const applied = (table: string) =>
  sql<{ id: string; owner: string | null; applied: string[] }>(
    `SELECT id, owner, record::jsonb->'snapshot'->'context'->'applied' AS applied FROM ${table} WHERE type = 'ledger'`,
  );
const inboxSize = (table: string) =>
  sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}_inbox`).then((r) => Number(r[0]?.n));

/** The seqs of `from` in an applied list, in the order applied. */
const seqsOf = (list: string[], from: string) =>
  list.filter((e) => e.startsWith(`${from}:`)).map((e) => Number(e.slice(from.length + 1)));

describe.skipIf(noPg)('any process reaches any instance', () => {
  it('sends from 3 processes to 200 instances while an owner is SIGKILLed: every acknowledged message is applied exactly once, in order per sender', async () => {
    const table = freshTable();
    const [a, b, c] = (await start(3, table)) as [Worker, Worker, Worker];
    const ids = Array.from({ length: 200 }, (_, i) => `ledger-${i}`);
    // Each process creates (and so hosts) a third of them.
    await Promise.all(
      [a, b, c].map((w, k) =>
        w.call({ op: 'ensureMany', type: 'ledger', ids: ids.filter((_, i) => i % 3 === k) }),
      ),
    );
    const count = 4;
    const streams = [a, b, c].map((w, k) => w.call({ op: 'stream', from: 'abc'[k], ids, count }));
    const acks = (w: Worker) => w.notes.filter((n) => (n as { ack?: unknown }).ack).length;
    // Kill A mid-stream: it hosts a third of the instances and is a sender too.
    await until(
      async () => acks(a) + acks(b) + acks(c),
      (n) => n >= 600,
      'a quarter of the messages to be acknowledged',
    );
    a.signal('SIGKILL');
    await a.exited;
    const [fromB, fromC] = await Promise.all([streams[1], streams[2]]);
    expect(fromB.ok && fromC.ok).toBe(true);
    for (const w of [b, c]) {
      expect(w.notes.filter((n) => (n as { nack?: unknown }).nack)).toEqual([]);
      expect(acks(w)).toBe(ids.length * count);
    }
    // Everything posted is applied by the survivors, and the inbox empties.
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the inbox to be drained',
    );
    const rows = await until(
      () => applied(table),
      (rs) => rs.length === 200 && rs.every((r) => r.owner !== a.ownerId),
      "A's instances to be taken over",
    );
    const ackedByA = new Map<string, number>();
    for (const n of a.notes as Array<{ ack?: [string, number] }>) {
      if (!n.ack) continue;
      ackedByA.set(n.ack[0], Math.max(ackedByA.get(n.ack[0]) ?? 0, n.ack[1]));
    }
    const upTo = (m: number) => Array.from({ length: m }, (_, i) => i + 1);
    const wrong = rows.filter(
      (r) =>
        JSON.stringify(seqsOf(r.applied, 'b')) !== JSON.stringify(upTo(count)) ||
        JSON.stringify(seqsOf(r.applied, 'c')) !== JSON.stringify(upTo(count)),
    );
    if (wrong.length) {
      const errs = await Promise.all([b, c].map((w) => w.call({ op: 'errors' })));
      console.error(JSON.stringify({ wrong, errs }, null, 1).slice(0, 6000));
    }
    for (const row of rows) {
      // No (sender, seq) twice.
      expect(new Set(row.applied).size).toBe(row.applied.length);
      expect(seqsOf(row.applied, 'b')).toEqual(upTo(count));
      expect(seqsOf(row.applied, 'c')).toEqual(upTo(count));
      // A sent one at a time per instance: everything it had acknowledged, in order,
      // and at most the one send it had in flight when it died.
      const fromA = seqsOf(row.applied, 'a');
      const acked = ackedByA.get(row.id) ?? 0;
      expect(fromA).toEqual(upTo(fromA.length));
      expect(fromA.length).toBeGreaterThanOrEqual(acked);
      expect(fromA.length).toBeLessThanOrEqual(acked + 1);
    }
  }, 120_000);

  it("a paused owner's late application of mail is fenced: the message is applied once, over the newer owner's state", async () => {
    const table = freshTable();
    const [a, b, c] = (await start(3, table)) as [Worker, Worker, Worker];
    await a.call({ op: 'ensure', type: 'ledger', id: 'p' });
    a.signal('SIGSTOP');
    // B's sends are acknowledged at once (mailed), and applied once B or C takes 'p' over.
    expect((await b.call({ op: 'stream', from: 'b', ids: ['p'], count: 3 })).ok).toBe(true);
    const taken = await until(
      () => applied(table).then((r) => r[0]),
      (r) => !!r && [b.ownerId, c.ownerId].includes(r.owner ?? '') && r.applied.length === 3,
      'a survivor to take p over and apply its mail',
    );
    const [owner, other] = taken?.owner === b.ownerId ? [b, c] : [c, b];
    // With the new owner paused too, the other's message waits in the inbox; A wakes
    // first, still believing it hosts 'p' (count of B's entries: none), and hears of it.
    owner.signal('SIGSTOP');
    expect((await other.call({ op: 'stream', from: 'x', ids: ['p'], count: 1 })).ok).toBe(true);
    a.signal('SIGCONT');
    await sleep(300); // gives A the chance to misbehave; nothing below depends on it
    owner.signal('SIGCONT');
    const final = await until(
      async () => ({ row: (await applied(table))[0], inbox: await inboxSize(table) }),
      (v) => v.inbox === 0 && seqsOf(v.row?.applied ?? [], 'x').length === 1,
      'the last message to be applied',
    );
    // A's stale copy (without B's entries) never landed: B's work is all there, the last message once.
    expect(final.row?.applied).toEqual(['b:1', 'b:2', 'b:3', 'x:1']);
  }, 90_000);

  it('stop, waitFor, getStatus and spawnSingleton work from a process that does not host the instance', async () => {
    const table = freshTable();
    const [a, b] = (await start(2, table, 'strict', 'v1', LONG_LEASE)) as [Worker, Worker];
    await a.call({ op: 'ensure', type: 'counter', id: 'k' });
    const waiting = b.call({ op: 'waitFor', id: 'k', count: 2 });
    expect((await b.call({ op: 'send', id: 'k', event: { type: 'INC' } })).ok).toBe(true);
    expect((await b.call({ op: 'send', id: 'k', event: { type: 'INC' } })).ok).toBe(true);
    expect(await waiting).toMatchObject({ ok: true, status: { context: { count: 2 } } });
    // spawnSingleton elsewhere: the instance stays with its owner; the caller gets its last state.
    expect(await b.call({ op: 'spawn', type: 'counter', id: 'k' })).toMatchObject({
      ok: true,
      id: 'k',
      snapshot: { count: 2 },
      local: false,
    });
    expect((await a.call({ op: 'status', id: 'k' })).local).toBe(true);
    expect(await b.call({ op: 'stop', id: 'k' })).toMatchObject({
      ok: true,
      status: { status: 'stopped', stopReason: 'remote', context: { count: 2 } },
    });
    expect(await inboxSize(table)).toBe(0);
  }, 60_000);
});

describe.skipIf(noPg)(
  'spawnSingleton and ensureSingleton from a process that does not host the instance',
  () => {
    it('the Actor spawnSingleton gives back forwards send to the owner through the inbox; getSnapshot is the last stored state', async () => {
      const table = freshTable();
      const [a, b] = (await start(2, table, 'strict', 'v1', LONG_LEASE)) as [Worker, Worker];
      await a.call({ op: 'ensure', type: 'counter', id: 'k' });
      expect(await b.call({ op: 'hold', type: 'counter', id: 'k' })).toMatchObject({
        ok: true,
        snapshot: { count: 0 },
      });
      expect((await b.call({ op: 'status', id: 'k' })).local).toBe(false);
      await b.call({ op: 'sendHeld', id: 'k', event: { type: 'INC' }, count: 3 });
      await until(
        () => a.call({ op: 'status', id: 'k' }),
        (r) => r.status?.context.count === 3,
        'the owner to apply 3 forwarded events',
      );
      // Still hosted by its owner; the forwarded sends were no STALE_ACTOR.
      expect((await a.call({ op: 'status', id: 'k' })).local).toBe(true);
      expect((await b.call({ op: 'errors' })).errors).toEqual([]);
      // A send the owner cannot take (the instance stopped meanwhile) is an error event naming it.
      await a.call({ op: 'stop', id: 'k' });
      await b.call({ op: 'sendHeld', id: 'k', event: { type: 'INC' } });
      const errors = await until(
        () => b.call({ op: 'errors' }),
        (r) => r.errors.length > 0,
        'the failed forward to be reported',
      );
      expect(errors.errors).toEqual([expect.stringMatching(/^INSTANCE_NOT_RUNNING: .*'k'/)]);
      expect(errors.errors[0]).not.toMatch(/STALE_ACTOR/);
      expect(await inboxSize(table)).toBe(0);
    }, 60_000);

    it('ensureSingleton gives back a handle that works for a local and a remote instance alike', async () => {
      const table = freshTable();
      const [a, b] = (await start(2, table, 'strict', 'v1', LONG_LEASE)) as [Worker, Worker];
      expect(
        await a.call({ op: 'ensureHandle', type: 'counter', id: 'h', event: { type: 'INC' } }),
      ).toMatchObject({
        ok: true,
        created: true,
        handle: { id: 'h', type: 'counter' },
        snapshot: { count: 1 },
        local: true,
      });
      // From the process that does not host it: the send is durable at its owner when it resolves.
      expect(
        await b.call({ op: 'ensureHandle', type: 'counter', id: 'h', event: { type: 'INC' } }),
      ).toMatchObject({
        ok: true,
        created: false,
        handle: { id: 'h', type: 'counter' },
        local: false,
      });
      await until(
        () => a.call({ op: 'status', id: 'h' }),
        (r) => r.status?.context.count === 2,
        'the owner to apply the handle send',
      );
      expect((await b.call({ op: 'errors' })).errors).toEqual([]);
    }, 60_000);
  },
);

describe.skipIf(noPg)('HTTP on any node', () => {
  it('serves any instance from any of 3 processes: creates, events, reads, long polls, stops and purges never answer 409 OWNED_ELSEWHERE', async () => {
    const table = freshTable();
    const nodes = (await start(3, table)) as Worker[];
    const bases = await Promise.all(
      nodes.map(async (w) => (await w.call({ op: 'http' })).base as string),
    );
    // A fixed spread, so the run is repeatable: request k of instance i goes to node (i + k) % 3.
    const at = (i: number, k: number) => bases[(i + k) % 3] as string;
    const post = (base: string, path: string, body: unknown) =>
      fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ids = Array.from({ length: 12 }, (_, i) => `web-${i}`);
    for (const [i, id] of ids.entries())
      expect((await post(at(i, 0), `/instances/counter/${id}`, {})).status).toBe(201);
    for (let k = 1; k <= 3; k++) {
      const answers = await Promise.all(
        ids.map((id, i) => post(at(i, k), `/instances/${id}/events`, { type: 'INC' })),
      );
      expect(answers.map((r) => r.status)).toEqual(ids.map(() => 202));
    }
    // Every node reads every instance; a long poll on a node that does not host it sees it stop.
    for (const [i, id] of ids.entries()) {
      const polled = fetch(`${at(i, 1)}/instances/${id}?waitMs=30000`).then((r) => r.json());
      const stopped = await post(at(i, 2), `/instances/${id}/stop`, { reason: 'done here' });
      expect(stopped.status).toBe(200);
      expect(await stopped.json()).toMatchObject({ status: 'stopped', context: { count: 3 } });
      expect(await polled).toMatchObject({ status: 'stopped', context: { count: 3 } });
      for (const base of bases) {
        const read = await fetch(`${base}/instances/${id}`);
        expect(read.status).toBe(200);
        expect(await read.json()).toMatchObject({ status: 'stopped', context: { count: 3 } });
      }
    }
    // A forced purge of a running instance from a node that does not host it.
    expect((await post(at(0, 0), '/instances/counter/last', {})).status).toBe(201);
    const purged = await fetch(`${at(0, 1)}/instances/last?force=true`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json' },
    });
    expect(purged.status).toBe(204);
    expect((await fetch(`${at(0, 2)}/instances/last`)).status).toBe(404);
  }, 90_000);
});

describe.skipIf(noPg)('placement and clean-up (in one process, two registries)', () => {
  const { registryOn } = pgRegistries();

  /** Two started registries on a fresh table; `a` hosts a counter named `id`, written. */
  async function hostedByA(id: string, extra: Record<string, unknown> = {}) {
    const table = freshTable();
    const a = registryOn(table, machines, extra);
    const b = registryOn(table, machines, extra);
    await a.registry.start();
    await b.registry.start();
    await a.registry.spawnSingleton('counter', id);
    await a.registry.flush();
    return { table, a, b };
  }

  it('a process that closes hands its instances over at once: another adopts them without a sweep or a lease expiry', async () => {
    const table = freshTable();
    // Sweeps every 60 s and 30 s leases: only the hand-over can move them within the test.
    const a = registryOn(table, machines);
    const b = registryOn(table, machines);
    await a.registry.start();
    await b.registry.start();
    const ids = ['h1', 'h2', 'h3'];
    for (const id of ids) {
      await a.registry.spawnSingleton('counter', id);
      await a.registry.send(id, { type: 'INC' });
    }
    await a.registry.close();
    await until(
      async () => ids.filter((id) => b.registry.get(id) !== undefined),
      (here) => here.length === ids.length,
      'B to adopt what A gave up',
      20_000,
    );
    for (const id of ids)
      expect(b.registry.get(id)?.getSnapshot().context).toMatchObject({ count: 1 });
  });

  it('mail left behind after its application was written (a crash before the delete) is skipped by the next owner, not applied twice', async () => {
    const table = freshTable();
    const a = registryOn(table, machines, { durability: 'strict' });
    const b = registryOn(table, machines, { durability: 'strict' });
    await a.registry.start();
    await b.registry.start();
    await a.registry.spawnSingleton('counter', 'once');
    await b.registry.send('once', { type: 'INC' }, { idempotencyKey: 'inc-1' });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'A to apply and delete the mail',
    );
    expect(a.registry.get('once')?.getSnapshot().context.count).toBe(1);
    // The same message again, as if A had died between its write and the delete.
    await sql(`INSERT INTO ${table}_inbox (instance_id, sender, body) VALUES ($1, $2, $3)`, [
      'once',
      b.store.ownerId,
      JSON.stringify({ kind: 'event', event: { type: 'INC' }, key: 'inc-1' }),
    ]);
    await a.registry.close();
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'B to take over and clean the mail up',
    );
    expect(b.registry.get('once')?.getSnapshot().context.count).toBe(1);
    await b.registry.send('once', { type: 'INC' });
    expect(b.registry.get('once')?.getSnapshot().context.count).toBe(2);
  });

  // Deleting the mail with the row left the owner's own delete nothing to announce: a mailed
  // purge's sender heard nothing and waited for its once-a-second poll.
  it('a purge announces the change on the inbox channel, as applied mail does', async () => {
    const table = freshTable();
    const a = registryOn(table, machines);
    await a.registry.start();
    await a.registry.spawnSingleton('counter', 'x');
    await a.registry.flush();
    const listener = new pg.Client({ connectionString: server.url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(String(n.payload)));
      await listener.query(`LISTEN ${table}_inbox`);
      await a.registry.purge('x', { force: true });
      await until(
        async () => heard,
        (h) => h.includes('changed:x'),
        'the purge to be announced',
      );
    } finally {
      await listener.end();
    }
  });

  // The purge looped for ever (a claim and a read every 50 ms): the row had no record to read.
  it('purge of an ID another live process claimed without a record answers INSTANCE_NOT_FOUND', async () => {
    const table = freshTable();
    const b = registryOn(table, machines);
    await b.registry.start();
    await sql(
      `INSERT INTO ${table} (id, owner, lease_expires_at, epoch) VALUES ('bare', 'ghost', now() + interval '1 hour', 1)`,
    );
    expect(await b.registry.getStatus('bare')).toBeUndefined();
    await expect(b.registry.purge('bare', { force: true })).rejects.toMatchObject({
      code: 'INSTANCE_NOT_FOUND',
    });
  });

  // Mail posted to the purged instance waited in the inbox and was applied to the new one under its ID.
  it('mail for an instance that is purged goes with it, never to a new instance under the same ID', async () => {
    const table = freshTable();
    const a = registryOn(table, machines);
    const b = registryOn(table, machines);
    await a.registry.start();
    await b.registry.start();
    await a.registry.spawnSingleton('counter', 'x');
    await a.registry.flush();
    // Posted for the first instance, not yet applied (no notice reached its owner).
    await sql(`INSERT INTO ${table}_inbox (instance_id, sender, body) VALUES ($1, $2, $3)`, [
      'x',
      b.store.ownerId,
      JSON.stringify({ kind: 'event', event: { type: 'INC' }, key: 'for-the-old-one' }),
    ]);
    await a.registry.purge('x', { force: true });
    await a.registry.spawnSingleton('counter', 'x');
    await a.registry.flush();
    await b.registry.send('x', { type: 'INC' });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the mail to be drained',
    );
    expect(a.registry.get('x')?.getSnapshot().context.count).toBe(1);
  });

  // The next owner took the key in the record for expired, and applied the mail again.
  it('mail left behind is skipped however long after the retention the next owner finds it', async () => {
    const table = freshTable();
    // The registries' clock, so that "long after the retention" takes no waiting.
    const clock = new TestClock(Date.now());
    const extra = { durability: 'strict', idempotency: { retentionMs: 50 }, clock };
    const a = registryOn(table, machines, extra);
    const b = registryOn(table, machines, extra);
    await a.registry.start();
    await b.registry.start();
    await a.registry.spawnSingleton('counter', 'late');
    await b.registry.send('late', { type: 'INC' }, { idempotencyKey: 'inc-1' });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'A to apply and delete the mail',
    );
    // Left behind by an owner that died before the delete, and found long after.
    await sql(`INSERT INTO ${table}_inbox (instance_id, sender, body) VALUES ($1, $2, $3)`, [
      'late',
      b.store.ownerId,
      JSON.stringify({ kind: 'event', event: { type: 'INC' }, key: 'inc-1' }),
    ]);
    clock.increment(86_400_000);
    await a.registry.close();
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'B to take over and clean the mail up',
    );
    expect(b.registry.get('late')?.getSnapshot().context.count).toBe(1);
  });

  it('waitFor on an instance hosted elsewhere times out, aborts and names a wrong type like a local wait', async () => {
    const { b } = await hostedByA('w');
    const never = (s: { status: string }) => s.status === 'done';
    await expect(b.registry.waitFor('w', never, { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    const abort = new AbortController();
    const aborted = b.registry.waitFor('w', never, { signal: abort.signal });
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(
      b.registry.waitFor('w', never, { type: 'reminder' } as never),
    ).rejects.toMatchObject({
      code: 'TYPE_MISMATCH',
    });
    expect(b.registry.get('w')).toBeUndefined();
    await expect(b.registry.waitFor('nobody', never)).rejects.toMatchObject({
      code: 'INSTANCE_NOT_FOUND',
    });
  });

  it('waitFor on an instance hosted elsewhere ends by its timeout and its signal even while the database blocks every read of it, and leaves the waiters gauge', async () => {
    const { table, b } = await hostedByA('locked');
    const never = (s: { status: string }) => s.status === 'done';
    // Bounds on waiting only: each wait must settle while the lock is still held.
    const settled = <T>(p: Promise<T>) =>
      Promise.race([
        p.then(
          () => 'resolved',
          (e: { code?: string }) => e.code,
        ),
        sleep(30_000).then(() => 'hung'),
      ]);
    /** Statements waiting for the lock on this table (not other test files' locks: two run at once). */
    const blocked = async () =>
      Number(
        (
          await sql<{ n: string }>(
            `SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND relation = '${table}'::regclass`,
          )
        )[0]?.n,
      );
    // A wait already watching (its reads poll the stored status every second).
    const watching = new AbortController();
    const watched = settled(b.registry.waitFor('locked', never, { signal: watching.signal }));
    await until(
      async () => b.registry.stats().waiters,
      (n) => n === 1,
      'the wait to watch',
    );
    const locker = new pg.Client({ connectionString: server.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      await until(blocked, (n) => n >= 1, "the watching wait's read to block on the lock");
      // Aborted while its read is blocked: it ends, and the gauge with it.
      watching.abort();
      expect(await watched).toBe('ABORTED');
      expect(b.registry.stats().waiters).toBe(0);
      // A new wait blocks in its claim: its timeout still ends it.
      expect(await settled(b.registry.waitFor('locked', never, { timeoutMs: 50 }))).toBe('TIMEOUT');
      // And a signal aborted while the claim is blocked (not before it started).
      const before = await blocked();
      const abort = new AbortController();
      const aborted = settled(b.registry.waitFor('locked', never, { signal: abort.signal }));
      await until(blocked, (n) => n > before, 'the claim to block on the lock');
      abort.abort();
      expect(await aborted).toBe('ABORTED');
      expect(b.registry.stats().waiters).toBe(0);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  }, 120_000);

  it('stats().waiters counts waitFor calls on instances other processes host', async () => {
    const { b } = await hostedByA('far');
    await b.registry.spawnSingleton('counter', 'near');
    const abort = new AbortController();
    const never = (s: { status: string }) => s.status === 'done';
    const far = b.registry.waitFor('far', never, { signal: abort.signal }).catch((e) => e);
    const near = b.registry.waitFor('near', never, { signal: abort.signal }).catch((e) => e);
    await until(
      async () => b.registry.stats().waiters,
      (n) => n === 2,
      'both waits to be counted',
    );
    abort.abort();
    expect(await far).toMatchObject({ code: 'ABORTED' });
    expect(await near).toMatchObject({ code: 'ABORTED' });
    await until(
      async () => b.registry.stats().waiters,
      (n) => n === 0,
      'both waits to be gone from the count',
    );
  });

  it('a waitFor predicate that throws on a remote status cancels its wake-up at once (no notice left waiting for the poll interval)', async () => {
    const { b } = await hostedByA('thrower');
    // Instrumentation only: the real inbox, with its outstanding wake-ups counted.
    let outstanding = 0;
    const changed = b.store.inbox.changed.bind(b.store.inbox);
    b.store.inbox.changed = (id, ms) => {
      const wake = changed(id, ms);
      outstanding++;
      let open = true;
      return {
        landed: wake.landed,
        cancel: () => {
          if (open) outstanding--;
          open = false;
          wake.cancel();
        },
      };
    };
    const boom = new Error('predicate failed');
    for (let i = 0; i < 5; i++)
      await expect(
        b.registry.waitFor('thrower', () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
    expect(outstanding).toBe(0);
  });

  it('a mailed stop whose final record is too large is refused by the owner, reported, and dropped: the instance runs on and later mail still flows', async () => {
    const { table, a, b } = await hostedByA('big-stop', { maxRecordBytes: 4000 });
    const errors: Array<{ code: string; details: Record<string, unknown> }> = [];
    a.registry.on('error', (e) => errors.push(e as never));
    const stopping = b.registry.stop('big-stop', 'x'.repeat(8000)).catch((e: unknown) => e);
    await until(
      async () => errors.length,
      (n) => n > 0,
      'the owner to report the refused stop',
    );
    expect(errors[0]).toMatchObject({
      code: 'SNAPSHOT_TOO_LARGE',
      details: { id: 'big-stop', mail: { sender: b.store.ownerId } },
    });
    // Not a poison message: the next mail is applied, and the inbox empties.
    await b.registry.send('big-stop', { type: 'INC' });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the owner to apply the next mail',
    );
    expect(a.registry.get('big-stop')?.getSnapshot()).toMatchObject({
      status: 'active',
      context: { count: 1 },
    });
    await b.registry.close();
    // No answer travels back: the caller's stop ends with its registry, never as a success.
    expect(await stopping).toMatchObject({
      code: expect.stringMatching(/^(REGISTRY|STORE)_CLOSED$/),
    });
  });

  // Mail was plain JSON: a Date arrived as a string, a Map as {}, undefined
  // keys vanished and NaN, -Infinity and -0 changed, all without a word, and a
  // BigInt or a cycle was refused although a local send delivers them.
  it('a mailed event arrives exactly as a local send delivers it', async () => {
    const table = freshTable();
    const keeper = setup({
      types: { context: {} as { got: unknown[] } },
    }).createMachine({
      context: { got: [] },
      on: { SET: { actions: assign({ got: ({ context, event }) => [...context.got, event] }) } },
    });
    const a = registryOn(table, { keeper });
    const b = registryOn(table, { keeper });
    await a.registry.start();
    await b.registry.start();
    await a.registry.spawnSingleton('keeper', 'k');
    await a.registry.flush();
    const make = () => {
      const shared = { s: 1 };
      const event: Record<string, unknown> = {
        type: 'SET',
        at: new Date(Date.UTC(2026, 10, 29)),
        m: new Map([['a', new Set([1n])]]),
        missing: undefined,
        nan: Number.NaN,
        ninf: Number.NEGATIVE_INFINITY,
        nzero: -0,
        pair: [shared, shared],
      };
      // A cycle a context can hold (XState cannot persist one of plain objects).
      const loop = new Map<string, unknown>();
      loop.set('self', loop);
      event.loop = loop;
      return event;
    };
    await b.registry.send('k', make() as never);
    await b.registry.send('k', { type: 'SET', plain: [1, 'x', null] } as never);
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the mail to be drained',
    );
    const got = (): Array<Record<string, unknown>> =>
      (a.registry.get('k')?.getSnapshot().context.got as Array<Record<string, unknown>>) ?? [];
    const [rich, plain] = got();
    expect(rich?.at).toEqual(make().at);
    expect(rich?.m).toStrictEqual(make().m);
    expect('missing' in (rich ?? {})).toBe(true);
    expect([rich?.nan, rich?.ninf]).toEqual([Number.NaN, Number.NEGATIVE_INFINITY]);
    expect(Object.is(rich?.nzero, -0)).toBe(true);
    const pair = (rich?.pair ?? []) as unknown[];
    expect(pair[0]).toBe(pair[1]);
    const loop = rich?.loop as Map<string, unknown>;
    expect(loop.get('self')).toBe(loop);
    expect(plain).toEqual({ type: 'SET', plain: [1, 'x', null] });
    // An event with no JSON form at all is refused before anything is posted, as it always
    // was: an older owner in a rolling deploy could read nothing of it.
    await expect(b.registry.send('k', { type: 'SET', n: 1n } as never)).rejects.toMatchObject({
      code: 'NOT_SERIALIZABLE',
    });
    // One the exact encoding cannot keep (a class with toJSON) travels as its JSON, as it always did.
    class Money {
      toJSON() {
        return { cents: 5 };
      }
    }
    await b.registry.send('k', { type: 'SET', price: new Money() } as never);
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the mail to be drained',
    );
    expect(got()[2]).toEqual({
      type: 'SET',
      price: { cents: 5 },
    });
  });

  it('bad input never reaches the owner or harms it: an event JSON cannot carry is refused, a damaged message is reported and dropped', async () => {
    const table = freshTable();
    const a = registryOn(table, machines);
    const b = registryOn(table, machines);
    const reported: string[] = [];
    a.registry.on('error', (err) => reported.push(err.code));
    await a.registry.start();
    await b.registry.start();
    await a.registry.spawnSingleton('counter', 'safe');
    await a.registry.flush();
    const cyclic: Record<string, unknown> = { type: 'INC' };
    cyclic.self = cyclic;
    for (const event of [{ type: 'INC', n: 1n }, cyclic])
      await expect(b.registry.send('safe', event as never)).rejects.toMatchObject({
        code: 'NOT_SERIALIZABLE',
      });
    await expect(b.registry.send('safe', { type: '' } as never)).rejects.toMatchObject({
      code: 'INVALID_EVENT',
    });
    // A row written by something else than a registry, then a real message.
    for (const body of ['not json', '{"kind":"event","event":{"type":"INC"}}'])
      await sql(`INSERT INTO ${table}_inbox (instance_id, sender, body) VALUES ('safe', 'x', $1)`, [
        body,
      ]);
    await b.registry.send('safe', { type: 'INC' });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the mail to be drained',
    );
    expect(a.registry.get('safe')?.getSnapshot().context.count).toBe(1);
    expect(reported.filter((c) => c === 'INVALID_EVENT')).toHaveLength(2);
  });
});
