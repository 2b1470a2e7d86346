import type { AnyEventObject } from 'xstate';
import { isRegistryError, RegistryError } from './errors.js';
import { sendFrom } from './event-source.js';
import { IdempotencyLog } from './idempotency.js';
import type { Instance } from './instance.js';
import { encodeMail, newKey, parseMail, refusedMailError, refusedStopError } from './mail-codec.js';
import {
  bringHere,
  type RegistryParts,
  type RemoteCalls,
  type UntilOptions,
} from './registry-parts.js';
import { isStopRefusal } from './stop-instance.js';
import type { ClusterInbox, Mail, MailBody } from './stores/cluster-inbox.js';

export interface RemoteDeliveryDeps {
  parts: RegistryParts;
  inbox: ClusterInbox;
  /** Stops the hosted instance `id` (the caller holds its lock). */
  stopHere: (id: string, reason: string | undefined) => Promise<unknown>;
  /** Purges the hosted instance `id`, running or not (the caller holds its lock). */
  purgeHere: (id: string) => Promise<void>;
  /** Takes over instances a closing process gave up, without waiting for the sweep. */
  takeOver: () => Promise<unknown>;
  /** How long `stop` and `purge` wait for the owner to record what they mailed it. */
  answerWithinMs: number;
}

/**
 * How often a caller looks at the row of an instance hosted elsewhere while
 * waiting for it, when no notification woke it sooner: changes the owner makes
 * on its own (a timer, a local send) send none.
 */
const SLOW_POLL_MS = 1000;

/**
 * Reaching instances hosted by other processes, through the cluster store's
 * inbox. A caller posts its request (an event, a stop, a forced purge) as
 * mail; the owner applies it under the instance's lock and deletes it only
 * once the state that includes it is durable.
 *
 * Exactly once: every message carries an idempotency key (the caller's, or a
 * generated one) that is applied into the instance's record with its effect.
 * The record write is fenced by the owner's epoch, so a fenced owner never
 * makes an application durable; a crash between that write and the deletion
 * leaves mail whose key the next owner finds in the record, and skips. A batch
 * never holds more messages than the record remembers keys, so no key of a
 * batch is forgotten before its mail is deleted.
 *
 * In order per sender: a process posts for one instance under that instance's
 * lock, one message after the other, and the owner applies in posting order;
 * whoever takes an instance over applies its mail before any new call.
 *
 * @example
 * ```ts
 * const remote = new RemoteDelivery({ parts, inbox: store.inbox, stopHere, purgeHere, takeOver });
 * remote.start();
 * await remote.post('order-7', { kind: 'event', event: { type: 'PAY' }, key: 'pay-7' });
 * ```
 */
export class RemoteDelivery implements RemoteCalls {
  readonly #d: RemoteDeliveryDeps;
  #off: (() => void) | undefined;
  #closed = false;

  constructor(deps: RemoteDeliveryDeps) {
    this.#d = deps;
  }

  /** Starts listening for mail and for processes that hand their instances over. */
  start(): void {
    this.#closed = false;
    this.#off = this.#d.inbox.onMail(
      (id) => {
        if (this.#d.parts.instances.has(id)) void this.drain(id);
      },
      () => void this.#d.takeOver().catch(() => {}),
    );
  }

  stop(): void {
    this.#closed = true;
    this.#off?.();
    this.#off = undefined;
  }

  async post(id: string, body: MailBody): Promise<void> {
    const mail = body.kind === 'event' && body.key === '' ? { ...body, key: newKey() } : body;
    await this.#d.inbox.post(id, encodeMail(id, mail));
  }

  recordLanded(id: string, timeoutMs: number): { landed: Promise<void>; cancel(): void } {
    return this.#d.inbox.recordLanded(id, timeoutMs);
  }

  #waiting = 0;

  get waiting(): number {
    return this.#waiting;
  }

  waits<T>(wait: Promise<T>): Promise<T> {
    this.#waiting++;
    const done = () => {
      this.#waiting--;
    };
    wait.then(done, done);
    return wait;
  }

  until<T>(
    id: string,
    read: () => Promise<T>,
    done: (value: T) => boolean,
    options: UntilOptions = {},
  ): Promise<T> {
    return this.#until(id, read, done, options);
  }

  async #until<T>(
    id: string,
    read: () => Promise<T>,
    done: (value: T) => boolean,
    options: UntilOptions,
  ): Promise<T> {
    const p = this.#d.parts;
    const { bounded, signal } = options;
    const deadline = bounded === undefined ? undefined : p.clock.now() + this.#d.answerWithinMs;
    for (;;) {
      // Listening before the read, so that a change recorded in between is not
      // missed; looking again by the caller's own deadline at the latest.
      const wait = Math.min(
        SLOW_POLL_MS,
        Math.max(0, (options.deadline ?? Number.POSITIVE_INFINITY) - p.clock.now()),
      );
      const wake = this.#d.inbox.changed(id, wait);
      let value: T;
      let finished: boolean;
      try {
        value = await read();
        // `done` runs the caller's predicate, which may throw too.
        finished = done(value);
      } catch (err) {
        wake.cancel();
        throw err;
      }
      if (finished) {
        wake.cancel();
        return value;
      }
      if (this.#closed || p.gate.isClosing) {
        wake.cancel();
        throw p.gate.closedError();
      }
      if (deadline !== undefined && p.clock.now() >= deadline) {
        wake.cancel();
        throw new RegistryError(
          'TIMEOUT',
          `The ${bounded} of instance '${id}' was handed to the process that hosts it, which did not record it within ${this.#d.answerWithinMs} ms. The request stays in its inbox and is applied once that process (or the one that takes the instance over) gets to it, unless that process refused it (a stop whose final record it cannot store: an 'error' event there says so); check that process, or call again.`,
          { details: { id, deadline: new Date(deadline).toISOString() } },
        );
      }
      signal?.addEventListener('abort', wake.cancel, { once: true });
      await wake.landed;
      signal?.removeEventListener('abort', wake.cancel);
    }
  }

  /** Applies the mail of every instance hosted here, and reports mail nobody will apply. */
  async sweep(): Promise<void> {
    for (const id of await this.#d.inbox.mailForMe()) await this.drain(id);
    for (const mail of await this.#d.inbox.dropUndeliverable()) {
      this.#d.parts.emitter.emit(
        'error',
        new RegistryError(
          'INSTANCE_NOT_RUNNING',
          `A message for instance '${mail.id}' from ${mail.sender} was not applied: the instance finished or was purged before its owner got to it.`,
          { details: { id: mail.id, status: 'unknown' } },
        ),
      );
    }
  }

  /**
   * Instances whose state, with the mail applied to it, the persister refused
   * (too large, or not serializable): the version refused and the mail already
   * reported. Such mail stays in the inbox (its effect is not durable) but is
   * reported once, and tried again only once the state has changed.
   */
  readonly #refused = new WeakMap<Instance, { version: number; reported: Set<string> }>();
  /** Instances whose mail was drained here before (see drainHere's first drain). */
  readonly #drained = new WeakSet<Instance>();

  /** Applies the mail of `id` if this process hosts it (takes the ID's lock). */
  async drain(id: string): Promise<void> {
    try {
      await this.#d.parts.gate.exclusive(id, () => this.drainHere(id));
    } catch (err) {
      // A fenced write was reported by the persister; its mail stays for the new owner.
      if (!isRegistryError(err, 'FENCED') && !this.#d.parts.gate.isClosing)
        this.#d.parts.emitter.emit('error', asError(err));
    }
  }

  /**
   * Applies the mail of the hosted instance `id`, oldest first, and deletes it
   * once the resulting state is durable. The caller holds the ID's lock.
   */
  async drainHere(id: string): Promise<void> {
    const p = this.#d.parts;
    const batch = Math.min(32, p.idempotency.maxKeys);
    for (;;) {
      const instance = p.instances.get(id);
      if (!instance || p.gate.isClosing) return;
      if (instance.passive) await bringHere(p, id, false);
      const mail = await this.#d.inbox.pending(id, batch);
      if (mail.length === 0) return;
      // Refused before, nothing new since: another try would be refused again.
      const refused = this.#refused.get(instance);
      if (refused?.version === instance.version && mail.every((m) => refused.reported.has(m.seq)))
        return;
      // The first drain of an instance this process loaded from its record
      // (adopted, taken over, restarted): mail its last owner applied but did
      // not delete has its key in the record, however long ago. Pinned, it
      // outlives the retention until the mail is deleted: applied once.
      const held = instance.idempotencyKeys;
      if (held && !this.#drained.has(instance))
        for (const m of mail) {
          const body = parseMail(m.body);
          if (body?.kind === 'event' && held.holds(body.key)) held.pin(body.key);
        }
      this.#drained.add(instance);
      let purged = false;
      for (const m of mail) purged = (await this.#apply(m)) || purged;
      const after = p.instances.get(id);
      if (after) {
        try {
          await p.persister.durable(after);
          this.#refused.delete(after);
        } catch (err) {
          if (
            !isRegistryError(err, 'SNAPSHOT_TOO_LARGE') &&
            !isRegistryError(err, 'NOT_SERIALIZABLE')
          )
            throw err;
          this.#refuse(after, mail, err);
          return;
        }
      }
      // Delete only what is durably applied: the same incarnation still hosted
      // after its write (a copy lost meanwhile, to fencing or a lapsed lease,
      // may have skipped the write), or an instance a message purged here.
      if (after ? p.instances.get(id) !== after || after !== instance : !purged) return;
      await this.#d.inbox.remove(mail.map((m) => m.seq));
      // Deleted: the keys of this mail may go the way of any other key now.
      const log = after?.idempotencyKeys;
      if (log?.pinned)
        for (const m of mail) {
          const body = parseMail(m.body);
          if (body?.kind === 'event') log.unpin(body.key);
        }
      if (mail.length < batch) return;
    }
  }

  /**
   * Reports, once per message, mail whose effect the instance's state cannot
   * store: the owner applied it in memory, the persister refused the state.
   * The mail stays, so nothing acknowledged to its sender is lost: it is
   * deleted once a later state (a smaller one) is durable with its key.
   */
  #refuse(instance: Instance, mail: Mail[], err: RegistryError): void {
    const state = this.#refused.get(instance) ?? { version: 0, reported: new Set<string>() };
    state.version = instance.version;
    // Only mail still pending is remembered: the set stays as small as the inbox's batch.
    const pending = new Set(mail.map((m) => m.seq));
    for (const seq of state.reported) if (!pending.has(seq)) state.reported.delete(seq);
    this.#refused.set(instance, state);
    for (const m of mail) {
      if (state.reported.has(m.seq)) continue;
      state.reported.add(m.seq);
      this.#d.parts.emitter.emit('error', refusedMailError(m, err));
    }
  }

  /** Applies one message; `true` when it purged the instance. */
  async #apply(mail: Mail): Promise<boolean> {
    const p = this.#d.parts;
    const body = parseMail(mail.body);
    const instance = p.instances.get(mail.id);
    if (!body) {
      p.emitter.emit(
        'error',
        new RegistryError(
          'INVALID_EVENT',
          `A message for instance '${mail.id}' from ${mail.sender} is not one a registry posts; it was dropped.`,
        ),
      );
      return false;
    }
    if (!instance) return false;
    if (body.kind === 'stop') {
      try {
        await this.#d.stopHere(mail.id, body.reason);
      } catch (err) {
        // Refused before it stopped anything (its final record cannot be stored):
        // reported and deleted, or every later message would wait behind it.
        if (!isStopRefusal(err)) throw err;
        p.emitter.emit('error', refusedStopError(mail, err));
      }
      return false;
    }
    if (body.kind === 'purge') {
      await this.#d.purgeHere(mail.id);
      return true;
    }
    const now = p.clock.now();
    // Applied (now, on a try whose delete failed, or by an owner that died
    // before deleting it: pinned by drainHere): its key stays until the mail is deleted.
    if (instance.idempotencyKeys?.has(body.key, now, p.idempotency)) {
      instance.idempotencyKeys.pin(body.key);
      return false;
    }
    if (instance.status !== 'running' || !instance.actor) {
      p.emitter.emit('error', notRunning(instance, mail));
      return false;
    }
    p.passivation?.touch(instance);
    instance.idempotencyKeys ??= new IdempotencyLog();
    instance.idempotencyKeys.add(body.key, now, p.idempotency);
    instance.idempotencyKeys.pin(body.key);
    p.persister.markDirty(instance);
    // Journaled as the sender's call came (a local send would say the same).
    sendFrom(instance.actor, body.event as AnyEventObject, body.source ?? 'api');
    return false;
  }
}

function notRunning(instance: Instance, mail: Mail): RegistryError {
  return new RegistryError(
    'INSTANCE_NOT_RUNNING',
    `A message for instance '${mail.id}' from ${mail.sender} was not applied: the instance is ${instance.status} and takes no more events.`,
    { details: { id: mail.id, status: instance.status } },
  );
}

function asError(err: unknown): RegistryError {
  return err instanceof RegistryError
    ? err
    : new RegistryError(
        'PERSIST_FAILED',
        'Applying mail from another process failed; it is retried.',
        {
          cause: err,
        },
      );
}
