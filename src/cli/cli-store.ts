import { statSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryError } from '../errors.js';
import { type InstanceRecord, MOVED_ASIDE, parseRecord } from '../record.js';
import { isClusterStore } from '../stores/cluster-store.js';
import { FileStore } from '../stores/file-store.js';
import type { SetAsidePage, SetAsideQuery, Store } from '../stores/store.js';

/**
 * What the CLI reads of one stored record: the envelope parsed, and the raw JSON for fields it does not know.
 *
 * @example
 * ```ts
 * const { record, raw } = (await store.read('order-7'))!;
 * ```
 */
export interface CliRecord {
  record: InstanceRecord;
  raw: Record<string, unknown>;
}

/**
 * The store a CLI command works on: a FileStore directory, opened read-only
 * (no lock) for reading and with its lock for changes, or a PostgreSQL URL,
 * where a change claims the instance's lease like any process would.
 *
 * @example
 * ```ts
 * const store = await openCliStore('./data', { write: false });
 * for await (const r of store.records()) console.log(r.record.id);
 * await store.close();
 * ```
 */
export interface CliStore {
  /**
   * Every stored record, parsed once and not held: a record that cannot be
   * parsed, or that lies in another ID's place (a copy or a renamed file, which
   * the registry sets aside), is noted with {@link CliStore.skip} instead.
   */
  records(): AsyncIterable<InstanceRecord>;
  /** The record of `id`; `CORRUPT_RECORD` when what is stored there cannot be read or is another ID's. */
  read(id: string): Promise<CliRecord | undefined>;
  /** Removes the record of `id`; refuses with STORE_LOCKED where a live process holds it. */
  remove(id: string): Promise<void>;
  listSetAside(query?: SetAsideQuery): Promise<SetAsidePage>;
  restoreSetAside(key: string): Promise<void>;
  close(): Promise<void>;
  /** Records that could not be parsed, for a warning: the first 100 of them. */
  skipped: string[];
  /** How many more could not be parsed (not held: a store may have millions). */
  skippedMore: number;
  /** Notes a record that could not be parsed. */
  skip(line: string): void;
}

/**
 * parseRecord, with a CORRUPT_RECORD's message saying what a reader does: the
 * registry's "was moved aside" is true where it loads, not where the CLI reads.
 */
function parseForCli(text: string): InstanceRecord {
  try {
    return parseRecord(text);
  } catch (err) {
    if (err instanceof RegistryError && err.message.endsWith(MOVED_ASIDE)) {
      throw new RegistryError(
        err.code,
        `${err.message.slice(0, -MOVED_ASIDE.length)} A registry sets it aside when it starts; purge --force removes it.`,
        { cause: err.cause, details: err.details },
      );
    }
    throw err;
  }
}

/** What stands where `id`'s record should be, if it is another ID's. */
function strayOf(record: InstanceRecord, id: string): RegistryError | undefined {
  if (record.id === id) return undefined;
  return new RegistryError(
    'CORRUPT_RECORD',
    `The record stored for instance '${id}' is instance '${record.id}''s (a copy or a renamed file). A registry sets it aside when it starts; purge --force removes it.`,
    { details: { id } },
  );
}

/** Why an entry could not be read, in a word or two (a FIFO, a symlink, too large...). */
function unreadableReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message ? `unreadable (${message})` : 'unreadable';
}

/**
 * Opens `target` (a directory, or a `postgres://` URL) for the CLI.
 *
 * @example
 * ```ts
 * const store = await openCliStore('postgres://localhost/app', { write: true });
 * ```
 */
export async function openCliStore(
  target: string,
  options: { write: boolean; table?: string },
): Promise<CliStore> {
  if (/^postgres(ql)?:\/\//.test(target)) return openPostgres(target, options.table, options.write);
  try {
    statSync(join(target, 'instances'));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new RegistryError(
      'INVALID_ARGUMENT',
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `${target} is not a registry data directory (it has no instances/); pass the FileStore's dir, or a postgres:// URL.`
        : `${target} cannot be read (${code ?? String(cause)}); check its permissions.`,
      { cause, details: { store: target } },
    );
  }
  const store = new FileStore({ dir: target });
  // Reading never takes the lock, so a live owner is never disturbed; a change
  // takes it, and fails with STORE_LOCKED while a live process owns the directory.
  if (options.write) await store.open();
  else await store.openReadOnly();
  return fromStore(store);
}

function fromStore(store: Store): CliStore {
  const skipped: string[] = [];
  const self: CliStore = {
    skipped,
    skippedMore: 0,
    skip(line) {
      if (skipped.length < 100) skipped.push(line);
      else self.skippedMore++;
    },
    async *records() {
      for await (const entry of store.load()) {
        if (entry.kind !== 'record') {
          self.skip(`${entry.key}: ${unreadableReason(entry.error)}`);
          continue;
        }
        let record: InstanceRecord;
        try {
          record = parseForCli(entry.text);
        } catch (err) {
          self.skip(`${entry.key}: ${(err as Error).message}`);
          continue;
        }
        // Listed once, under its own ID: a copy of a record under another
        // name would list it twice (the registry sets such a copy aside).
        const home = store.keyOf?.(record.id);
        if (home !== undefined && home !== entry.key) {
          self.skip(
            `${entry.key}: holds instance '${record.id}''s record but is not its file (a copy or a renamed file, which a registry sets aside when it starts)`,
          );
          continue;
        }
        yield record;
      }
    },
    async read(id) {
      const text = await store.read(id);
      if (text === undefined) return undefined;
      const record = parseForCli(text);
      const stray = strayOf(record, id);
      if (stray) throw stray;
      return { record, raw: JSON.parse(text) as Record<string, unknown> };
    },
    remove: (id) => store.remove(id),
    async listSetAside(query) {
      if (!store.listSetAside) throw unsupported('listing set-aside records');
      return store.listSetAside(query);
    },
    async restoreSetAside(key) {
      if (!store.restoreSetAside) throw unsupported('restoring set-aside records');
      return store.restoreSetAside(key);
    },
    close: () => store.close(),
  };
  return self;
}

/** How long the CLI waits for PostgreSQL to accept a connection: a silent server must not hang it. */
const CONNECT_TIMEOUT_MS = 10_000;

async function openPostgres(
  url: string,
  table: string | undefined,
  write: boolean,
): Promise<CliStore> {
  const [{ default: pg }, { PostgresStore }] = await Promise.all([
    import('pg'),
    import('../stores/postgres-store.js'),
  ]);
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  pool.on('error', () => {}); // an idle client's lost server: the next query reports it
  const store = new PostgresStore({ pool, ...(table ? { table } : {}) });
  try {
    // Reading changes nothing; a change opens as a registry does, and so may
    // migrate the schema: only once the table is known to be a registry's
    // at this version (a mistyped --table created a fresh set of tables).
    await store.checkSchema();
    if (write) await store.open();
    else await store.openReadOnly();
  } catch (cause) {
    await store.close().catch(() => {});
    await pool.end().catch(() => {});
    if (cause instanceof RegistryError) throw cause;
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `Could not connect to PostgreSQL at ${withoutPassword(url)} (${(cause as Error)?.message || String(cause)}); check the URL, the password, and that the server is up.`,
      { cause, details: { store: withoutPassword(url) } },
    );
  }
  if (!isClusterStore(store)) throw unsupported('this store');
  const base = fromStore(store);
  return {
    ...base,
    get skippedMore() {
      return base.skippedMore; // counted by base.skip
    },
    async close() {
      await store.close();
      await pool.end();
    },
    // A cluster store loads nothing up front: page through its query instead.
    async *records() {
      let cursor: string | undefined;
      do {
        const page = await store.query({ limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const text of page.texts) {
          try {
            yield parseForCli(text);
          } catch (err) {
            base.skip((err as Error).message);
          }
        }
        cursor = page.cursor;
      } while (cursor);
    },
    async remove(id) {
      // The same lease as any process: refused while a live process holds the instance.
      const claim = await store.claim(id);
      if (!claim.owned)
        throw new RegistryError(
          'STORE_LOCKED',
          `Instance '${id}' is held by a live process (${claim.owner}); purge it through that process (registry.purge or DELETE /instances/{id}).`,
        );
      await store.remove(id);
    },
  };
}

/**
 * The URL as it may be printed: its password masked wherever the URL can
 * carry one (`user:pass@`, `?password=`), also one with an unencoded `/` or
 * `@` in it, which the old pattern left whole or half in an error message.
 */
export function withoutPassword(url: string): string {
  const scheme = /^postgres(?:ql)?:\/\//.exec(url)?.[0] ?? '';
  let rest = url.slice(scheme.length);
  const query = rest.search(/[?#]/);
  let tail = '';
  if (query >= 0) {
    tail = rest.slice(query).replace(/([?&]password=)[^&#]*/gi, '$1***');
    rest = rest.slice(0, query);
  }
  // The credentials end at the last `@` before the query: a password may hold `@` and `/`.
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    const colon = credentials.indexOf(':');
    if (colon >= 0) rest = `${credentials.slice(0, colon)}:***${rest.slice(at)}`;
  }
  return scheme + rest + tail;
}

function unsupported(what: string): RegistryError {
  return new RegistryError('INVALID_ARGUMENT', `This store does not support ${what}.`);
}
