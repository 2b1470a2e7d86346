import type pg from 'pg';
import { RegistryError } from '../errors.js';

/**
 * 1: records in `jsonb`. 2: records in `text`, byte for byte as encoded (jsonb
 * refuses `\u0000` and lone surrogates, and reorders object keys), and a
 * `machine_version` column, so takeover sweeps skip records this process cannot decode.
 */
export const SCHEMA_VERSION = 2;

/**
 * Creates or migrates the schema of table `t` (and its quarantine and schema
 * tables) under an advisory lock, so that processes starting at once do it once.
 * Refuses a table whose schema is newer than this package's.
 *
 * @example
 * ```ts
 * await migrateSchema(pool, 'xstate_registry_instances');
 * ```
 */
export async function migrateSchema(pool: pg.Pool, t: string): Promise<void> {
  await underAdvisoryLock(pool, `xstate-registry:${t}`, async (client) => {
    await client.query(`CREATE TABLE IF NOT EXISTS ${t}_schema (version integer NOT NULL)`);
    const { rows } = await client.query(`SELECT version FROM ${t}_schema`);
    const version: number = rows[0]?.version ?? 0;
    if (version > SCHEMA_VERSION) {
      throw new RegistryError(
        'STORE_CLOSED',
        `Table ${t} has schema version ${version}, newer than this xstate-registry (${SCHEMA_VERSION}); upgrade the package.`,
      );
    }
    if (version < 1) {
      await client.query(`
        CREATE TABLE IF NOT EXISTS ${t} (
          id text PRIMARY KEY,
          type text,
          status text,
          created_at bigint,
          updated_at bigint,
          record text,
          machine_version bigint,
          owner text,
          lease_expires_at timestamptz,
          epoch bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS ${t}_by_created ON ${t} (created_at, id) WHERE record IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ${t}_by_status ON ${t} (status, type, created_at, id) WHERE record IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ${t}_by_updated ON ${t} (updated_at) WHERE record IS NOT NULL;
        CREATE INDEX IF NOT EXISTS ${t}_orphans ON ${t} (lease_expires_at) WHERE status = 'running';
        CREATE TABLE IF NOT EXISTS ${t}_quarantine (id text NOT NULL, record text, reason text NOT NULL, at timestamptz NOT NULL DEFAULT now());
      `);
    }
    if (version === 1) {
      // Run once every process runs this version: older ones write jsonb.
      await client.query(`
        ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS machine_version bigint;
        UPDATE ${t} SET machine_version = (record->>'machineVersion')::bigint
          WHERE jsonb_typeof(record->'machineVersion') = 'number' AND record->>'machineVersion' ~ '^[0-9]{1,18}$';
        ALTER TABLE ${t} ALTER COLUMN record TYPE text USING record::text;
      `);
    }
    // Indexes for list({ idPrefix }) and list({ order: 'updated' }), and the
    // set-aside rows' sequence numbers (a set-aside key names one row even when
    // one ID was set aside twice in one microsecond): added to older tables too
    // without a schema version, which older processes would refuse; they
    // insert set-aside rows without naming seq, and get the default.
    // Only what is missing: `IF NOT EXISTS` takes its lock before it looks (a
    // SHARE lock on the table for an index), so running them at every start
    // held every writer of the cluster up behind a starting process, for as
    // long as it took (or was paused).
    const missing = await missingObjects(client, [`${t}_id_prefix`, `${t}_by_updated_id`]);
    const hasSeq = await client.query(
      `SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'seq' AND NOT attisdropped`,
      [`${t}_quarantine`],
    );
    if (hasSeq.rowCount === 0)
      await client.query(`ALTER TABLE ${t}_quarantine ADD COLUMN IF NOT EXISTS seq bigserial`);
    if (missing.has(`${t}_id_prefix`))
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${t}_id_prefix ON ${t} (id text_pattern_ops) WHERE record IS NOT NULL`,
      );
    if (missing.has(`${t}_by_updated_id`))
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${t}_by_updated_id ON ${t} (updated_at, id) WHERE record IS NOT NULL`,
      );
    // Epochs come from one sequence (see claimStatement), made once past the
    // highest epoch the table holds. Older processes keep counting per row.
    await client.query(`
      DO $$ BEGIN
        IF to_regclass('${t}_epoch') IS NULL THEN
          CREATE SEQUENCE ${t}_epoch;
          PERFORM setval('${t}_epoch', GREATEST(1, (SELECT coalesce(max(epoch), 0) FROM ${t})));
        END IF;
      END $$;
    `);
    if (version < SCHEMA_VERSION) {
      await client.query(`DELETE FROM ${t}_schema`);
      await client.query(`INSERT INTO ${t}_schema (version) VALUES ($1)`, [SCHEMA_VERSION]);
    }
  });
}

/**
 * Checks, changing nothing, that table `t` exists at this package's schema
 * version: what a reader (the CLI's `ls`) needs before it reads. A missing
 * table is a wrong `--table` or database (`INVALID_ARGUMENT`); an older or
 * newer schema is `STORE_CLOSED`, since only a starting registry migrates one.
 *
 * @example
 * ```ts
 * await checkSchema(pool, 'xstate_registry_instances');
 * ```
 */
export async function checkSchema(pool: pg.Pool, t: string): Promise<void> {
  const { rows } = await pool.query<{ schema: string | null; main: string | null }>(
    'SELECT to_regclass($1)::text AS schema, to_regclass($2)::text AS main',
    [`${t}_schema`, t],
  );
  if (!rows[0]?.schema || !rows[0].main)
    throw new RegistryError(
      'INVALID_ARGUMENT',
      `Table ${t} does not exist in this database: no registry has used it. Check the table name and the database in the URL.`,
    );
  const found = await pool.query<{ version: number }>(`SELECT version FROM ${t}_schema`);
  const version = found.rows[0]?.version ?? 0;
  if (version !== SCHEMA_VERSION)
    throw new RegistryError(
      'STORE_CLOSED',
      version > SCHEMA_VERSION
        ? `Table ${t} has schema version ${version}, newer than this xstate-registry (${SCHEMA_VERSION}); upgrade the package.`
        : `Table ${t} has schema version ${version}, older than this xstate-registry's (${SCHEMA_VERSION}); a registry of this version migrates it when it starts (upgrade every process of the cluster together). Reading it does not.`,
    );
}

/**
 * Which of the relations (tables, indexes, sequences) named `names` do not
 * exist yet, looked up in the catalog without locking anything.
 *
 * @example
 * ```ts
 * if ((await missingObjects(client, ['jobs_by_updated_id'])).size) await client.query('CREATE INDEX ...');
 * ```
 */
export async function missingObjects(client: pg.PoolClient, names: string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL',
    [names],
  );
  return new Set(rows.map((r) => r.name));
}

/**
 * Runs `work` in one transaction holding the advisory lock `key`: several
 * processes may start at once, and one of them creates or migrates what
 * `work` creates while the others wait, then find it done.
 *
 * @example
 * ```ts
 * await underAdvisoryLock(pool, 'xstate-registry:jobs_inbox', (c) => c.query('CREATE TABLE IF NOT EXISTS ...'));
 * ```
 */
export async function underAdvisoryLock(
  pool: pg.Pool,
  key: string,
  work: (client: pg.PoolClient) => Promise<unknown>,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [key]);
    await work(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
