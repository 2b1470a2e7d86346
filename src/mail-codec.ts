import { nanoid } from 'nanoid';
import { RegistryError } from './errors.js';
import { isEvent } from './event-shape.js';
import type { Mail, MailBody } from './stores/cluster-inbox.js';

// The mail between cluster processes (src/remote-delivery.ts) as stored text, and its reports.

/**
 * A message as JSON text. An event JSON cannot carry (a BigInt, a cycle) is
 * refused before anything is posted; what JSON drops (`undefined`, functions)
 * would be dropped by the owner's record all the same.
 *
 * @example
 * ```ts
 * await inbox.post('order-7', encodeMail('order-7', { kind: 'event', event: { type: 'PAY' }, key: 'pay-7' }));
 * ```
 */
export function encodeMail(id: string, mail: MailBody): string {
  try {
    return JSON.stringify(mail);
  } catch (cause) {
    throw new RegistryError(
      'NOT_SERIALIZABLE',
      `The event for instance '${id}' cannot be sent to the process that hosts it: it is not JSON (a BigInt or a cycle?). Send plain JSON data.`,
      { cause, details: { id } },
    );
  }
}

/**
 * The body of a stored message, or `undefined` if it is not one a registry posts.
 *
 * @example
 * ```ts
 * parseMail('{"kind":"stop"}'); // { kind: 'stop', reason: undefined }
 * ```
 */
export function parseMail(text: string): MailBody | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object') return undefined;
  const m = raw as Record<string, unknown>;
  if (m.kind === 'event' && typeof m.key === 'string' && m.key !== '' && isEvent(m.event))
    return { kind: 'event', event: m.event, key: m.key };
  if (m.kind === 'stop' && (m.reason === undefined || typeof m.reason === 'string'))
    return { kind: 'stop', reason: m.reason };
  if (m.kind === 'purge') return { kind: 'purge' };
  return undefined;
}

/**
 * A key for a message its caller sent without one: unique, so it dedupes only its own repeats.
 *
 * @example
 * ```ts
 * const mail = { kind: 'event', event, key: newKey() };
 * ```
 */
export function newKey(): string {
  return `inbox:${nanoid()}`;
}

/**
 * The report of a message whose effect the owner's state cannot store: the
 * write's own code (`SNAPSHOT_TOO_LARGE`, `NOT_SERIALIZABLE`) and details, with
 * the message's sender, sequence number and idempotency key in `details.mail`.
 *
 * @example
 * ```ts
 * emitter.emit('error', refusedMailError(mail, tooLarge));
 * ```
 */
export function refusedMailError(m: Mail, err: RegistryError): RegistryError {
  const body = parseMail(m.body);
  const key = body?.kind === 'event' ? body.key : undefined;
  const what = `${body?.kind ?? 'message'}${key !== undefined ? ` (idempotency key '${key}')` : ''}`;
  return new RegistryError(
    err.code as 'SNAPSHOT_TOO_LARGE',
    `A ${what} for instance '${m.id}' from ${m.sender} was applied, but the state it leads to cannot be stored: ${err.message} It stays in the inbox, applied in memory only, and is reported once; it is written (and deleted) with the first later state that can be stored.`,
    {
      cause: err,
      details: {
        ...err.details,
        id: m.id,
        mail: {
          sender: m.sender,
          seq: m.seq,
          ...(key !== undefined ? { idempotencyKey: key } : {}),
        },
      },
    },
  );
}

/**
 * The error an owner reports for a mailed stop it refused before stopping
 * anything, because the instance's final record could not be stored; the
 * message is deleted and the instance runs on.
 *
 * @example
 * ```ts
 * emitter.emit('error', refusedStopError(mail, tooLarge));
 * ```
 */
export function refusedStopError(m: Mail, err: RegistryError): RegistryError {
  return new RegistryError(
    err.code as 'SNAPSHOT_TOO_LARGE',
    `A stop for instance '${m.id}' from ${m.sender} was refused and dropped: ${err.message}`,
    { cause: err, details: { ...err.details, id: m.id, mail: { sender: m.sender, seq: m.seq } } },
  );
}
