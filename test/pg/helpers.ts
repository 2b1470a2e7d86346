import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, inject } from 'vitest';
import { createRegistry, type Registry } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';

export const server = inject('pg');
/** Why PostgreSQL tests cannot run here (never in CI: global setup fails there instead). */
export const noPg = server.url ? undefined : server.why;

let n = 0;
/** A table name no other test uses. */
export function freshTable(): string {
  return `t_${process.pid}_${Date.now().toString(36)}_${n++}`;
}

/** Runs a query directly, for checks and for simulating other writers. */
export async function sql<T = Record<string, unknown>>(
  text: string,
  params: unknown[] = [],
  url = server.url,
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Restarts a PostgreSQL server (fast shutdown: open connections are cut)
 * without blocking the event loop, so that traffic can go on meanwhile.
 */
export async function restartPgAsync(target: { bin: string; data: string }): Promise<void> {
  // -l keeps the new postmaster off pg_ctl's stdout, which would otherwise never close.
  const args = [
    '-D',
    target.data,
    '-l',
    join(target.data, '..', 'log'),
    '-m',
    'fast',
    '-w',
    '-t',
    '60',
    'restart',
  ];
  const pgCtl = join(target.bin, 'pg_ctl');
  if (process.getuid?.() === 0)
    await promisify(execFile)('runuser', ['-u', 'postgres', '--', pgCtl, ...args]);
  else await promisify(execFile)(pgCtl, args);
}

/**
 * Registries over PostgreSQL tables for one test file, each closed after the test
 * that made it (anything else pushed on `open` too). Leases outlive a test's
 * sweeps on purpose (30 s lease, 60 s takeover interval) unless `extra` says otherwise.
 */
export function pgRegistries() {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((c) => c.close()));
  });
  function registryOn(
    table: string,
    machines: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) {
    const store = new PostgresStore({ connectionString: server.url, table, leaseMs: 30_000 });
    const registry = createRegistry({
      machines: machines as never,
      store,
      takeoverIntervalMs: 60_000,
      ...extra,
    }) as unknown as Registry;
    open.push(registry);
    return { registry, store };
  }
  return { open, registryOn };
}

/** Creates `table` as schema 1 (jsonb records, before the text column and machine_version), empty. */
export async function createSchema1Table(table: string): Promise<void> {
  await sql(`
    CREATE TABLE ${table}_schema (version integer NOT NULL);
    INSERT INTO ${table}_schema VALUES (1);
    CREATE TABLE ${table} (id text PRIMARY KEY, type text, status text, created_at bigint, updated_at bigint,
      record jsonb, owner text, lease_expires_at timestamptz, epoch bigint NOT NULL DEFAULT 0);
    CREATE TABLE ${table}_quarantine (id text NOT NULL, record text, reason text NOT NULL, at timestamptz NOT NULL DEFAULT now());
  `);
}

/**
 * Polls `read` until `check` holds: a bound on waiting (`limitMs`), never a
 * timing assertion. The error names `what` and the last value read.
 */
export async function until<T>(
  read: () => Promise<T>,
  check: (v: T) => boolean,
  what: string,
  limitMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`gave up waiting for ${what}; last: ${JSON.stringify(v).slice(0, 500)}`);
    await sleep(50);
  }
}
