import type { TestProject } from 'vitest/node';
import { findPgBin, type PgServer, startPg, stopPg } from './server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pg: { url: string; bin: string; data: string; port: number; why?: string };
  }
}

/** Starts one PostgreSQL cluster for the whole run; .ci/run installs Debian's postgresql. */
export default async function setup(project: TestProject) {
  const bin = findPgBin();
  if (!bin) {
    if (process.env.CI)
      throw new Error(
        'CI must provide PostgreSQL (Debian package postgresql); none found under /usr/lib/postgresql.',
      );
    project.provide('pg', {
      url: '',
      bin: '',
      data: '',
      port: 0,
      why: 'no PostgreSQL server binaries found under /usr/lib/postgresql (apt-get install postgresql)',
    });
    return;
  }
  const server: PgServer = await startPg(bin);
  project.provide('pg', { url: server.url, bin: server.bin, data: server.data, port: server.port });
  return () => stopPg(server);
}
