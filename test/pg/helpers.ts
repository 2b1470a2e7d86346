import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

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
): Promise<T[]> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Restarts the PostgreSQL server (fast shutdown: open connections are cut). */
export function restartPg(): void {
  const args = ['-D', server.data, '-m', 'fast', '-w', '-t', '60', 'restart'];
  const pgCtl = join(server.bin, 'pg_ctl');
  if (process.getuid?.() === 0)
    execFileSync('runuser', ['-u', 'postgres', '--', pgCtl, ...args], { stdio: 'ignore' });
  else execFileSync(pgCtl, args, { stdio: 'ignore' });
}
