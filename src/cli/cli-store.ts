import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryError } from '../errors.js';
import { parseRecord } from '../record.js';
import { isClusterStore } from '../stores/cluster-store.js';
import { FileStore } from '../stores/file-store.js';
import type { SetAsideRecord, Store } from '../stores/store.js';

/**
 * What the CLI reads of one stored record: the envelope parsed, and the raw JSON for fields it does not know.
 *
 * @example
 * ```ts
 * const { record, raw } = (await store.read('order-7'))!;
 * ```
 */
export interface CliRecord {
  record: ReturnType<typeof parseRecord>;
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
  records(): AsyncIterable<CliRecord>;
  read(id: string): Promise<CliRecord | undefined>;
  /** Removes the record of `id`; refuses with STORE_LOCKED where a live process holds it. */
  remove(id: string): Promise<void>;
  listSetAside(): Promise<SetAsideRecord[]>;
  restoreSetAside(key: string): Promise<void>;
  close(): Promise<void>;
  /** Records that could not be parsed, for a warning. */
  skipped: string[];
}

function parsed(text: string): CliRecord {
  return { record: parseRecord(text), raw: JSON.parse(text) as Record<string, unknown> };
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
  if (/^postgres(ql)?:\/\//.test(target)) return openPostgres(target, options.table);
  if (!existsSync(join(target, 'instances')))
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `${target} is not a registry data directory (it has no instances/); pass the FileStore's dir, or a postgres:// URL.`,
      { details: { store: target } },
    );
  const store = new FileStore({ dir: target });
  // Reading never takes the lock, so a live owner is never disturbed; a change
  // takes it, and fails with STORE_LOCKED while a live process owns the directory.
  if (options.write) await store.open();
  else await store.openReadOnly();
  return fromStore(store);
}

function fromStore(store: Store): CliStore {
  const skipped: string[] = [];
  return {
    skipped,
    async *records() {
      for await (const entry of store.load()) {
        if (entry.kind !== 'record') {
          skipped.push(`${entry.key}: unreadable`);
          continue;
        }
        try {
          yield parsed(entry.text);
        } catch (err) {
          skipped.push(`${entry.key}: ${(err as Error).message}`);
        }
      }
    },
    async read(id) {
      const text = await store.read(id);
      return text === undefined ? undefined : parsed(text);
    },
    remove: (id) => store.remove(id),
    async listSetAside() {
      if (!store.listSetAside) throw unsupported('listing set-aside records');
      return store.listSetAside();
    },
    async restoreSetAside(key) {
      if (!store.restoreSetAside) throw unsupported('restoring set-aside records');
      return store.restoreSetAside(key);
    },
    close: () => store.close(),
  };
}

/** How long the CLI waits for PostgreSQL to accept a connection: a silent server must not hang it. */
const CONNECT_TIMEOUT_MS = 10_000;

async function openPostgres(url: string, table: string | undefined): Promise<CliStore> {
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
    await store.open();
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
            yield parsed(text);
          } catch (err) {
            base.skipped.push((err as Error).message);
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

function withoutPassword(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

function unsupported(what: string): RegistryError {
  return new RegistryError('INVALID_ARGUMENT', `This store does not support ${what}.`);
}
