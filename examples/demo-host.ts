/**
 * The demo host that `npm start` runs: the demo machines (the seed's background
 * job under the type name `job`, an eternal heartbeat, a day-long approval) on
 * the file store in ./data, served over HTTP on 127.0.0.1.
 *
 * Environment: PORT (default 3000; 0 picks a free port), DATA_DIR (default ./data).
 * SIGINT/SIGTERM flush and close; starting again resumes every instance.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpHandler, toNodeListener } from '../src/http/index.js';
import { createRegistry, FileStore } from '../src/index.js';
import { demoMachines } from './machines.js';

const port = Number(process.env.PORT ?? 3000);
const dir = process.env.DATA_DIR ?? './data';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `PORT must be a port number from 0 to 65535 (0: any free port), got '${process.env.PORT}'.`,
  );
  process.exit(1);
}

const registry = createRegistry({ machines: demoMachines, store: new FileStore({ dir }) });
registry.on('error', (err) => console.error(`[registry] ${err.code}: ${err.message}`));
registry.on('quarantined', ({ key, error }) =>
  console.error(`[registry] moved aside ${key}: ${error.message}`),
);
const server = createServer(toNodeListener(createHttpHandler(registry)));

// Take the port before touching the data: a taken port is one line, not a stack.
await new Promise<void>((resolve) => {
  server.once('error', (err: NodeJS.ErrnoException) => {
    console.error(
      err.code === 'EADDRINUSE'
        ? `Port ${port} on 127.0.0.1 is taken: set PORT to a free port (PORT=3001 npm start) or PORT=0 for any.`
        : `Cannot listen on 127.0.0.1:${port} (${err.code ?? err.message}): set PORT to another port.`,
    );
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', resolve);
});

// A data directory that is not one, or that another host owns: one line, not a stack.
const summary = await registry.start().catch((err: Error & { code?: string }) => {
  console.error(`Cannot start on ${dir}: ${err.code ?? 'error'}: ${err.message}`);
  process.exit(1);
});
console.log(
  `Resumed ${summary.restored} running instance(s), ${summary.finished} finished, from ${new FileStore({ dir }).dir}`,
);
const { port: actual } = server.address() as AddressInfo;
const url = `http://127.0.0.1:${actual}`;
console.log(`xstate-registry demo listening on ${url}`);
console.log(`Dashboard: ${url}/`);
console.log(
  `Try: curl -i -X POST ${url}/instances/job/nightly-report -H 'content-type: application/json' -d '{"steps":5,"stepMs":2000}'`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: flushing and closing…`);
  server.closeAllConnections?.();
  server.close();
  try {
    await registry.close();
  } catch (err) {
    // Writes that failed (a full disk): say which, in one line, and exit; the
    // instances resume at the next start from their last durable state.
    const e = err as Error & { code?: string };
    console.error(`Closed with writes missing: ${e.code ?? 'error'}: ${e.message}`);
    process.exit(1);
  }
  console.log('closed cleanly');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
