/**
 * The PostgreSQL hot-path rows' sides (bench/run.ts `postgres()`): each
 * registry operation against the least SQL that operation needs on the same
 * server, one statement per operation, so that the ratio shows what the
 * registry adds on top of the database's own cost.
 */
import pg from 'pg';
import { MemoryStore } from 'xstate-registry';
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

/**
 * `spawnSingleton` of IDs another live process hosts: since issue 14 each is
 * answered without being hosted here (a refused claim, then a read of the
 * stored record for a stand-in actor), or refused with OWNED_ELSEWHERE.
 */
export const registryRefuse = (url: string): Side<Reg> => ({
  setup: async () => {
    const table = fresh();
    const r = await started(new PostgresStore({ connectionString: url, table }));
    // Held by another process for the whole run (one statement: setup is not timed, but it is waited for).
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    // Real records (a stand-in is built from one), as the owner would have written them.
    const seedStore = new MemoryStore();
    const seed = await started(seedStore);
    await seed.spawnSingleton('counter', 'template');
    await seed.close();
    const template = JSON.parse(seedStore.peek('template') as string);
    const ids = Array.from({ length: 5_000 }, (_, i) => `id-${i}`);
    await pool.query(
      `INSERT INTO ${table} (id, owner, lease_expires_at, epoch, type, status, record)
       SELECT id, 'another-process', now() + interval '1 hour', 1, 'counter', 'running', record
       FROM unnest($1::text[], $2::text[]) AS t(id, record)`,
      [ids, ids.map((id) => JSON.stringify({ ...template, id }))],
    );
    await pool.end();
    return r;
  },
  run: async (r, n) => {
    for (let i = 0; i < n; i++) {
      const id = `id-${i % 5_000}`;
      // A stand-in, or a refusal: anything else is a failure of the benchmark.
      const answered = await r.spawnSingleton('counter', id).then(
        () => true,
        (err: { code?: string; message?: string }) => {
          if (err.code === 'OWNED_ELSEWHERE') return true;
          throw err;
        },
      );
      if (!answered) throw new Error(`${id}: neither a stand-in nor a refusal`);
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

const INC = { type: 'INC' } as const;
/** Instances the send rows spread their events over. */
const TARGETS = 64;

interface Pair {
  owner: Reg;
  /** Where the sends come from: the owner itself (local) or another registry on the same table. */
  sender: Reg;
}

/** `TARGETS` running instances hosted by one registry, and the registry the sends come from. */
async function hostedPair(url: string, remote: boolean): Promise<Pair> {
  const table = fresh();
  const owner = await started(new PostgresStore({ connectionString: url, table }), {
    durability: 'strict',
  });
  for (let i = 0; i < TARGETS; i++) await owner.spawnSingleton('counter', `id-${i}`);
  const sender = remote
    ? await started(new PostgresStore({ connectionString: url, table }), { durability: 'strict' })
    : owner;
  return { owner, sender };
}

/**
 * Strict `send` of n events over `TARGETS` instances from `callers` callers at
 * once (each caller its own instances, so per-sender order is kept), each
 * resolving once durable: from the registry that hosts them (`remote: false`,
 * the baseline) or from another registry on the same database (`remote: true`:
 * claim refused, mail inserted and notified; durable when `send` resolves). The
 * owner applies the mail meanwhile, in the same Node process, so the remote
 * rate also pays the owner's application of it.
 */
export const sendStrict = (url: string, callers: number, remote: boolean): Side<Pair> => ({
  setup: () => hostedPair(url, remote),
  run: async ({ sender }, n) => {
    const per = Math.ceil(n / callers);
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let i = 0; i < per; i++) await sender.send(`id-${(c + i * callers) % TARGETS}`, INC);
      }),
    );
  },
  teardown: async ({ owner, sender }) => {
    if (sender !== owner) await sender.close();
    await owner.close();
  },
});
