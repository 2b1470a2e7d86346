import { nanoid } from 'nanoid';
import { chooseEncoding, decodeRich, encodeRich } from './codec.js';
import { RegistryError } from './errors.js';
import { isEvent } from './event-shape.js';
import { safeJsonParse } from './record.js';
import type { Mail, MailBody } from './stores/cluster-inbox.js';

// The mail between cluster processes (src/remote-delivery.ts) as stored text, and its reports.

/**
 * A message as JSON text. An event that is plain JSON is written as it is; a
 * richer one (a Date, a Map, `undefined`, NaN, -0...) is also written in the
 * exact encoding records use (`encoding: 'devalue'`, `state`), which this
 * version's owner reads, so it arrives exactly as a local send delivers it;
 * beside it stays the plain JSON form that older versions read. An event with
 * no JSON form at all (a BigInt, a cycle) is refused with `NOT_SERIALIZABLE`
 * before anything is posted.
 *
 * @example
 * ```ts
 * await inbox.post('order-7', encodeMail('order-7', { kind: 'event', event: { type: 'PAY' }, key: 'pay-7' }));
 * ```
 */
export function encodeMail(id: string, mail: MailBody): string {
  // The plain JSON form every version reads. An event without one (a BigInt,
  // a cycle) is refused, as it always was: an older owner in a rolling deploy
  // could read nothing of it, and would drop it after the send was acknowledged.
  let plain: string;
  try {
    plain = JSON.stringify(mail);
  } catch (cause) {
    throw new RegistryError(
      'NOT_SERIALIZABLE',
      `The event for instance '${id}' cannot be sent to the process that hosts it: it has no JSON form (a BigInt or a cycle?). Send it as plain data (a BigInt as a string), or from the process that hosts the instance.`,
      { cause, details: { id } },
    );
  }
  if (mail.kind !== 'event') return plain;
  // The event as a record's context: checked and encoded the same way.
  const state = { snapshot: { context: mail.event }, timers: [] };
  if (chooseEncoding(state) === 'json') return plain;
  let rich: string;
  try {
    rich = encodeRich(state, id);
  } catch {
    // Nothing the exact encoding keeps (a class instance with toJSON, a Buffer):
    // its JSON form, as mail always carried it.
    return plain;
  }
  return `${plain.slice(0, -1)},"encoding":"devalue","state":${rich}}`;
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
    raw = safeJsonParse(text);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object') return undefined;
  const m = raw as Record<string, unknown>;
  if (m.kind === 'event' && typeof m.key === 'string' && m.key !== '') {
    let event = m.event;
    if (m.encoding === 'devalue') {
      try {
        event = (decodeRich(m.state).snapshot as { context?: unknown } | undefined)?.context;
      } catch {
        event = m.event; // damaged: the plain form beside it, as an older owner reads it
      }
    }
    if (!isEvent(event)) return undefined;
    return m.source === 'http' || m.source === 'api'
      ? { kind: 'event', event, key: m.key, source: m.source }
      : { kind: 'event', event, key: m.key };
  }
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
