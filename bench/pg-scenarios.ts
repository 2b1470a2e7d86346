/**
 * The PostgreSQL hot-path rows' sides (bench/run.ts `postgres()`): each
 * registry operation against the least SQL that operation needs on the same
 * server, one statement per operation, so that the ratio shows what the
 * registry adds on top of the database's own cost.
 */
import pg from 'pg';
import { PostgresStore } from 'xstate-registry/postgres';
import type { Side } from './harness.js';
import { type Reg, started } from './scenarios.js';

const FINISH = { type: 'FINISH' } as const;
/** About the size of the benchmark machine's record. */
const RECORD = JSON.stringify({ format: 'x', snapshot: { value: 'active', context: { n: 0 } } });

let tables = 0;
const fresh = () => `bench_hot_${process.pid}_${tables++}`;

/** Runs `op(0..n-1)` from `callers` concurrent callers, each awaiting its own before the next. */
async function inParallel(n: number, callers: number, op: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < n) await op(next++);
    }),
  );
}

interface Bare {
  pool: pg.Pool;
  table: string;
}

async function bareTable(url: string, callers: number, rows: number): Promise<Bare> {
  const pool = new pg.Pool({ connectionString: url, max: callers });
  const table = fresh();
  await pool.query(
    `CREATE TABLE ${table} (id text PRIMARY KEY, owner text, lease_expires_at timestamptz, epoch bigint, status text, record text)`,
  );
  if (rows > 0)
    await pool.query(
      `INSERT INTO ${table} SELECT 'id-' || i, 'someone', now() + interval '1 hour', 1, 'running', $1
       FROM generate_series(0, $2 - 1) AS i`,
      [RECORD, rows],
    );
  return { pool, table };
}

async function dropBare({ pool, table }: Bare) {
  await pool.query(`DROP TABLE ${table}`);
  await pool.end();
}

/** Floor of a new-ID start: one `INSERT ... ON CONFLICT DO NOTHING` per ID (one commit). */
export const floorCreate = (url: string, callers: number): Side<Bare> => ({
  setup: () => bareTable(url, callers, 0),
  run: ({ pool, table }, n) =>
    inParallel(n, callers, (i) =>
      pool.query(
        `INSERT INTO ${table} (id, owner, lease_expires_at, epoch, status, record)
         VALUES ($1, 'me', now() + interval '10 seconds', 1, 'running', $2) ON CONFLICT DO NOTHING`,
        [`id-${i}`, RECORD],
      ),
    ),
  teardown: dropBare,
});

/** Strict `spawnSingleton` of n new IDs from `callers` callers at once: each resolves once durable. */
export const registryCreateStrict = (url: string, callers: number): Side<Reg> => ({
  setup: () =>
    started(new PostgresStore({ connectionString: url, table: fresh() }), {
      durability: 'strict',
    }),
  run: (r, n) => inParallel(n, callers, (i) => r.spawnSingleton('counter', `id-${i}`)),
  teardown: (r) => r.close(),
});

/** Floor of a refusal: one `SELECT` of the row's owner and lease. */
export const floorRefuse = (url: string): Side<Bare> => ({
  setup: () => bareTable(url, 1, 5_000),
  run: async ({ pool, table }, n) => {
    for (let i = 0; i < n; i++)
      await pool.query(`SELECT owner, lease_expires_at FROM ${table} WHERE id = $1`, [
        `id-${i % 5_000}`,
      ]);
  },
  teardown: dropBare,
});

/** `spawnSingleton` of IDs another live process holds: each is refused with OWNED_ELSEWHERE. */
export const registryRefuse = (url: string): Side<Reg> => ({
  setup: async () => {
    const table = fresh();
    const r = await started(new PostgresStore({ connectionString: url, table }));
    // Held by another process for the whole run (one statement: setup is not timed, but it is waited for).
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    await pool.query(
      `INSERT INTO ${table} (id, owner, lease_expires_at, epoch, type, status, record)
       SELECT 'id-' || i, 'another-process', now() + interval '1 hour', 1, 'counter', 'running', $1
       FROM generate_series(0, 4999) AS i`,
      [RECORD],
    );
    await pool.end();
    return r;
  },
  run: async (r, n) => {
    for (let i = 0; i < n; i++) {
      const refused = await r.spawnSingleton('counter', `id-${i % 5_000}`).then(
        () => false,
        (err: { code?: string }) => err.code === 'OWNED_ELSEWHERE',
      );
      if (!refused) throw new Error('a refusal was expected');
    }
  },
  teardown: (r) => r.close(),
});

/** Floor of finishing: one fenced `UPDATE` that writes the final record and frees the lease. */
export const floorFinish = (url: string, n: number): Side<Bare> => ({
  setup: () => bareTable(url, 1, n),
  run: async ({ pool, table }, count) => {
    for (let i = 0; i < count; i++)
      await pool.query(
        `UPDATE ${table} SET record = $2, status = 'done', owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND epoch = 1 AND owner = 'someone'`,
        [`id-${i}`, RECORD],
      );
  },
  teardown: dropBare,
});

/** Strict `send(FINISH)` to n running instances, one at a time: each resolves once final and durable. */
export const registryFinish = (url: string, n: number): Side<Reg> => ({
  setup: async () => {
    const r = await started(new PostgresStore({ connectionString: url, table: fresh() }), {
      durability: 'strict',
    });
    for (let i = 0; i < n; i++) await r.spawnSingleton('counter', `id-${i}`);
    return r;
  },
  run: async (r, count) => {
    for (let i = 0; i < count; i++) await r.send(`id-${i}`, FINISH);
  },
  teardown: (r) => r.close(),
});
