/**
 * The owner applies mail, writes the state with the mail's idempotency keys,
 * then deletes the mail from the inbox. When that delete failed (a dropped
 * connection), the mail stayed for the next try, but nothing kept its keys:
 * keyed sends made meanwhile pushed them out of the instance's key log
 * (`maxKeys`), and the next try applied the mail a second time.
 */
import { describe, expect, it } from 'vitest';
import { TestClock } from '../../src/testing/index.js';
import { machines } from '../fixtures.js';
import { freshTable, noPg, pgRegistries, sql, until } from './helpers.js';

const inboxSize = (table: string) =>
  sql<{ n: string }>(`SELECT count(*) AS n FROM ${table}_inbox`).then((r) => Number(r[0]?.n));

describe.skipIf(noPg)('PostgreSQL: mail whose delete failed', () => {
  const { registryOn } = pgRegistries();

  /**
   * An owner `a` (with `extra` options) hosting counter `x`, a sender `b` (with
   * `extra`'s idempotency options), and a fault injected into the owner's
   * deletes of applied mail: the n-th delete (from 1) throws while `fails(n)`.
   */
  async function owning(
    table: string,
    extra: Record<string, unknown>,
    fails: (n: number) => boolean,
  ) {
    const a = registryOn(table, machines, extra);
    const b = registryOn(
      table,
      machines,
      extra.idempotency ? { idempotency: extra.idempotency } : {},
    );
    await a.registry.start();
    await b.registry.start();
    a.registry.on('error', () => {});
    await a.registry.spawnSingleton('counter', 'x');
    const fault = { deletes: 0, failed: 0 };
    const inbox = a.store.inbox;
    const remove = inbox.remove.bind(inbox);
    inbox.remove = async (seqs) => {
      if (fails(++fault.deletes)) {
        fault.failed++;
        throw new Error('connection lost (injected)');
      }
      return remove(seqs);
    };
    return { a, b, fault };
  }

  it('is not applied again, however many keyed sends push its key out of the log before the retry', async () => {
    const table = freshTable();
    // The owner's first delete of applied mail fails.
    const { a, b, fault } = await owning(table, { idempotency: { maxKeys: 2 } }, (n) => n === 1);
    await b.registry.send('x', { type: 'INC' }, { idempotencyKey: 'remote-1' });
    await until(
      async () => fault.failed,
      (n) => n >= 1,
      'the owner to apply the mail and fail to delete it',
    );
    // Two keyed sends push remote-1 out of a two-key log.
    await a.registry.send('x', { type: 'INC' }, { idempotencyKey: 'local-a' });
    await a.registry.send('x', { type: 'INC' }, { idempotencyKey: 'local-b' });
    // More mail makes the owner go through its inbox again.
    await b.registry.send('x', { type: 'INC' }, { idempotencyKey: 'remote-2' });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the inbox to empty',
    );
    await a.registry.flush();
    expect((await a.registry.getStatus('x'))?.context).toMatchObject({ count: 4 });
  }, 60_000);

  it('keeps its instance hosted, not passivated, until the mail is deleted', async () => {
    const table = freshTable();
    const clock = new TestClock(Date.now());
    // The owner's deletes of applied mail fail until `healed`.
    let healed = false;
    const { a, b, fault } = await owning(table, { idleTimeoutMs: 1_000, clock }, () => !healed);
    await b.registry.send('x', { type: 'INC' }, { idempotencyKey: 'remote-1' });
    await until(
      async () => fault.failed,
      (n) => n >= 1,
      'the owner to fail to delete the mail',
    );
    // Idle far past the timeout: passivation would drop the key kept for the mail.
    for (let i = 0; i < 5; i++) {
      clock.increment(1_000);
      await a.registry.flush();
    }
    expect(a.registry.stats()).toMatchObject({ live: 1, passive: 0 });
    // Deleted at last (more mail makes the owner go through its inbox): now it may sleep.
    healed = true;
    await b.registry.send('x', { type: 'INC' }, { idempotencyKey: 'remote-2' });
    await until(
      () => inboxSize(table),
      (n) => n === 0,
      'the inbox to empty',
    );
    await until(
      async () => {
        clock.increment(1_000);
        await a.registry.flush();
        return a.registry.stats().passive;
      },
      (n) => n === 1,
      'the instance to passivate once its mail is deleted',
    );
    expect((await a.registry.getStatus('x'))?.context).toMatchObject({ count: 2 });
  }, 60_000);
});
