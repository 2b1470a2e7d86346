import { type ClusterStore, isClusterStore } from './cluster-store.js';
import type { Store } from './store.js';

/**
 * A request for an instance hosted by another process, as it waits in a
 * {@link ClusterInbox}: an event to deliver, a stop or a forced purge.
 *
 * @example
 * ```ts
 * const body: MailBody = { kind: 'stop', reason: 'cancelled' };
 * ```
 */
export type MailBody =
  | {
      kind: 'event';
      event: unknown;
      key: string;
      /** Where the sender's call came from, for the owner's history (`'api'` when absent). */
      source?: 'api' | 'http';
    }
  | { kind: 'stop'; reason?: string | undefined }
  | { kind: 'purge' };

/**
 * A {@link MailBody} as stored, in posting order (`seq`).
 *
 * @example
 * ```ts
 * for (const mail of await inbox.pending('order-7', 100)) console.log(mail.seq, mail.sender);
 * ```
 */
export interface Mail {
  seq: string;
  id: string;
  sender: string;
  /** The body's JSON text, parsed (and checked) by the registry, never by the store. */
  body: string;
}

/**
 * Mail between the processes of a cluster, kept in the shared store itself:
 * durable once `post` resolves, read by whoever hosts the instance, deleted
 * once applied. Listeners hear about new mail at once (PostgreSQL's
 * LISTEN/NOTIFY); sweeps (`mailForMe`) catch anything a listener missed.
 *
 * @example
 * ```ts
 * if (hasInbox(store)) await store.inbox.post('order-7', JSON.stringify({ kind: 'stop' }));
 * ```
 */
export interface ClusterInbox {
  /** Stores a message for `id` (durable once it resolves) and wakes the listeners. */
  post(id: string, body: string): Promise<void>;
  /** Up to `limit` messages for `id`, oldest first. */
  pending(id: string, limit: number): Promise<Mail[]>;
  /** Deletes delivered messages. */
  remove(seqs: readonly string[]): Promise<void>;
  /** IDs this process holds a lease on that have mail waiting. */
  mailForMe(): Promise<string[]>;
  /**
   * Deletes mail no process will ever apply (its instance is gone, or finished
   * and hosted by nobody) and returns it, so it can be reported.
   */
  dropUndeliverable(): Promise<Mail[]>;
  /**
   * Resolves once the first record of `id`, claimed by another process with no
   * record yet (being created there), has landed, or after `timeoutMs`,
   * whichever comes first; `cancel` stops waiting (it resolves at once). Call it
   * before reading the row, so that a record landing meanwhile is not missed.
   */
  recordLanded(id: string, timeoutMs: number): { landed: Promise<void>; cancel(): void };
  /**
   * Resolves once the owner of `id` has applied mail for it (the state it
   * recorded may be what a caller waits for), or after `timeoutMs`; like `recordLanded`.
   */
  changed(id: string, timeoutMs: number): { landed: Promise<void>; cancel(): void };
  /** Listens for mail posted for `id` and for instances given up by a closing process (`released`). Returns the unsubscribe. */
  onMail(listener: (id: string) => void, released: () => void): () => void;
}

/**
 * Whether `store` carries a {@link ClusterInbox}, through which any process
 * reaches an instance hosted by another.
 *
 * @example
 * ```ts
 * const inbox = hasInbox(store) ? store.inbox : undefined;
 * ```
 */
export function hasInbox(store: Store): store is ClusterStore & { inbox: ClusterInbox } {
  const s = store as Partial<ClusterStore> & { inbox?: unknown };
  return isClusterStore(store) && typeof s.inbox === 'object' && s.inbox !== null;
}
