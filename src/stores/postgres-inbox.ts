import pg from 'pg';
import { RegistryError } from '../errors.js';
import type { ClusterInbox, Mail } from './cluster-inbox.js';
import { databaseFailed } from './postgres-failure.js';
import { missingObjects, underAdvisoryLock } from './postgres-schema.js';
import type { PostgresPools } from './postgres-store-options.js';

/**
 * The mail between the processes of one PostgreSQL cluster: a table next to the
 * instances' (`<table>_inbox`) and one LISTEN/NOTIFY channel of the same name.
 * Posting is one statement that inserts the message and notifies, so a message
 * is durable when `post` resolves and listeners hear of it only once it is
 * committed. Part of {@link PostgresStore}, which creates it; no new server.
 *
 * @example
 * ```ts
 * const inbox = new PostgresInbox({ main: pool, renewal: pool }, 'xstate_registry_instances', ownerId, report);
 * await inbox.open();
 * await inbox.post('order-7', JSON.stringify({ kind: 'stop' }));
 * ```
 */
export class PostgresInbox implements ClusterInbox {
  readonly #pools: Readonly<PostgresPools>;
  readonly #t: string;
  readonly #ownerId: string;
  readonly #report: (err: unknown) => void;
  readonly #listeners = new Set<{ mail: (id: string) => void; released: () => void }>();
  /** Callers waiting for a notice (`record:<id>`, `changed:<id>`), by its payload. */
  readonly #noticeWaiters = new Map<string, Set<() => void>>();
  #client: pg.Client | undefined;
  #open = false;
  readonly #maxBytes: number;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    pools: Readonly<PostgresPools>,
    table: string,
    ownerId: string,
    report: (err: unknown) => void,
    /** Messages larger than this are never fetched: they read as empty, and are reported and dropped. */
    maxBytes = 64 * 1024 * 1024,
  ) {
    this.#maxBytes = maxBytes;
    this.#pools = pools;
    this.#t = table;
    this.#ownerId = ownerId;
    this.#report = report;
  }

  /** The channel: the table's name is already a safe identifier (checked by the store). */
  get #channel(): string {
    return `${this.#t}_inbox`;
  }

  async open(): Promise<void> {
    const t = this.#t;
    await underAdvisoryLock(
      this.#pools.main,
      `xstate-registry:${this.#channel}`,
      async (client) => {
        // Only what is missing: see migrateSchema (the index's lock would hold every poster up).
        const missing = await missingObjects(client, [`${t}_inbox`, `${t}_inbox_by_id`]);
        if (missing.has(`${t}_inbox`))
          await client.query(`
          CREATE TABLE IF NOT EXISTS ${t}_inbox (
            seq bigserial PRIMARY KEY,
            instance_id text NOT NULL,
            sender text NOT NULL,
            body text NOT NULL,
            posted_at timestamptz NOT NULL DEFAULT now()
          )`);
        if (missing.has(`${t}_inbox_by_id`))
          await client.query(
            `CREATE INDEX IF NOT EXISTS ${t}_inbox_by_id ON ${t}_inbox (instance_id, seq)`,
          );
      },
    );
    this.#open = true;
    await this.#listen();
  }

  async close(): Promise<void> {
    this.#open = false;
    for (const waiters of [...this.#noticeWaiters.values()]) for (const wake of waiters) wake();
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => {});
  }

  async post(id: string, body: string): Promise<void> {
    // An owner reads no message past the limit (it would drop it): refused here, before it is acknowledged.
    const bytes = Buffer.byteLength(body);
    if (bytes > this.#maxBytes)
      throw new RegistryError(
        'SNAPSHOT_TOO_LARGE',
        `The message for instance '${id}' is ${bytes} bytes, over the store's maxRecordBytes (${this.#maxBytes}); send a smaller event.`,
        { details: { id, bytes, limit: this.#maxBytes } },
      );
    await this.#pools.main
      .query(
        `WITH m AS (INSERT INTO ${this.#t}_inbox (instance_id, sender, body) VALUES ($1, $2, $3) RETURNING instance_id)
       SELECT pg_notify($4, 'mail:' || instance_id) FROM m`,
        [id, this.#ownerId, body, this.#channel],
      )
      .catch(databaseFailed(`post a message for instance '${id}'`));
  }

  async pending(id: string, limit: number): Promise<Mail[]> {
    const { rows } = await this.#pools.main.query(
      // Ordered by the bigint column (i.seq), not by the text alias `seq` an
      // unqualified ORDER BY would pick: as text, '10' sorts before '9'.
      `SELECT i.seq::text AS seq, i.instance_id AS id, i.sender,
         CASE WHEN octet_length(i.body) <= ${this.#maxBytes} THEN i.body ELSE '' END AS body FROM ${this.#t}_inbox AS i
       WHERE i.instance_id = $1 ORDER BY i.seq LIMIT $2`,
      [id, limit],
    );
    return rows as Mail[];
  }

  async remove(seqs: readonly string[]): Promise<void> {
    if (seqs.length === 0) return;
    // Applied mail changed its instance: callers waiting on it elsewhere read it again now.
    await this.#pools.main.query(
      `WITH d AS (DELETE FROM ${this.#t}_inbox WHERE seq = ANY($1::bigint[]) RETURNING instance_id)
       SELECT pg_notify($2, 'changed:' || instance_id) FROM (SELECT DISTINCT instance_id FROM d) AS x`,
      [[...seqs], this.#channel],
    );
  }

  async mailForMe(): Promise<string[]> {
    const { rows } = await this.#pools.main.query(
      `SELECT DISTINCT i.instance_id AS id FROM ${this.#t}_inbox i JOIN ${this.#t} t ON t.id = i.instance_id
       WHERE t.owner = $1`,
      [this.#ownerId],
    );
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }

  async dropUndeliverable(): Promise<Mail[]> {
    // Kept: mail for a running instance (hosted or orphaned: its next owner
    // applies it), for one still owned (its owner finishes applying), and for
    // one being created (no record yet).
    const { rows } = await this.#pools.main.query(
      `DELETE FROM ${this.#t}_inbox i WHERE NOT EXISTS (
         SELECT 1 FROM ${this.#t} t WHERE t.id = i.instance_id
           AND (t.status = 'running' OR t.owner IS NOT NULL OR t.record IS NULL))
       RETURNING seq::text AS seq, instance_id AS id, sender, body`,
    );
    return rows as Mail[];
  }

  /** Tells the other processes that this one gave up its instances (a clean shutdown). */
  async announceRelease(): Promise<void> {
    await this.#pools.main.query('SELECT pg_notify($1, $2)', [this.#channel, 'released']);
  }

  recordLanded(id: string, timeoutMs: number): { landed: Promise<void>; cancel(): void } {
    return this.#notice(`record:${id}`, timeoutMs);
  }

  changed(id: string, timeoutMs: number): { landed: Promise<void>; cancel(): void } {
    return this.#notice(`changed:${id}`, timeoutMs);
  }

  #notice(payload: string, timeoutMs: number): { landed: Promise<void>; cancel(): void } {
    let cancel = () => {};
    const landed = new Promise<void>((resolve) => {
      const waiters = this.#noticeWaiters.get(payload) ?? new Set();
      this.#noticeWaiters.set(payload, waiters);
      const timer = setTimeout(() => cancel(), timeoutMs);
      timer.unref();
      cancel = () => {
        clearTimeout(timer);
        waiters.delete(cancel);
        if (waiters.size === 0 && this.#noticeWaiters.get(payload) === waiters)
          this.#noticeWaiters.delete(payload);
        resolve();
      };
      waiters.add(cancel);
    });
    return { landed, cancel };
  }

  onMail(listener: (id: string) => void, released: () => void): () => void {
    const own = { mail: listener, released };
    this.#listeners.add(own);
    return () => this.#listeners.delete(own);
  }

  async #listen(): Promise<void> {
    // A connection of its own, not one of the pool's: held for good, it would
    // shrink the pool and keep `pool.end()` waiting.
    const client = new pg.Client(this.#pools.main.options);
    await client.connect();
    client.on('notification', (n) => {
      if (n.channel !== this.#channel || n.payload === undefined) return;
      if (n.payload.startsWith('record:') || n.payload.startsWith('changed:')) {
        for (const wake of this.#noticeWaiters.get(n.payload) ?? []) wake();
        return;
      }
      const mail = n.payload.startsWith('mail:') ? n.payload.slice(5) : undefined;
      for (const l of this.#listeners) {
        if (mail !== undefined) l.mail(mail);
        else l.released();
      }
    });
    // A dropped connection (a database restart) must not crash the process:
    // listen again; meanwhile the sweeps deliver what the notifications missed.
    client.on('error', (err) => {
      this.#report(err);
      if (this.#client !== client) return;
      this.#client = undefined;
      void client.end().catch(() => {});
      this.#relisten();
    });
    try {
      await client.query(`LISTEN ${this.#channel}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.#client = client;
  }

  #relisten(): void {
    if (!this.#open) return;
    this.#retry = setTimeout(() => {
      this.#listen().then(
        () => {
          if (!this.#open) void this.close();
          // Mail posted while nobody listened: have everyone look now.
          for (const l of this.#listeners) l.released();
        },
        (err) => {
          this.#report(err);
          this.#relisten();
        },
      );
    }, 500);
    this.#retry.unref();
  }
}
