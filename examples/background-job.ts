/**
 * The seed's HTTP-triggered singleton job, without its race. Durable Functions'
 * sample checks status, then starts: two concurrent requests can both start.
 * Here `ensureSingleton` checks and creates atomically, so exactly one caller
 * creates the job and every other caller learns that it already exists.
 *
 * Run: node --import tsx examples/background-job.ts
 */
import { createRegistry, isRegistryError, type Registry } from '../src/index.js';
import { job } from './machines.js';

/** What the seed's HttpStartSingle answers: 201 when this call started the job, 409 when it already runs. */
export async function startSingletonJob(
  registry: Registry<{ job: typeof job }>,
  instanceId: string,
  input: { steps?: number; stepMs?: number },
) {
  try {
    const { status } = await registry.ensureSingleton('job', instanceId, {
      input,
      ifRunning: 'throw',
      ifFinished: 'replace',
    });
    return { status: 201, body: status };
  } catch (err) {
    if (isRegistryError(err, 'INSTANCE_EXISTS'))
      return {
        status: 409,
        body: { message: `An instance with ID '${instanceId}' already exists.` },
      };
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const registry = createRegistry({ machines: { job } });
  await registry.start();
  // Ten "requests" at once for the same job ID: one 201, nine 409s.
  const answers = await Promise.all(
    Array.from({ length: 10 }, () =>
      startSingletonJob(registry, 'nightly-report', { steps: 3, stepMs: 100 }),
    ),
  );
  console.log(answers.map((a) => a.status).join(' '));
  const done = await registry.waitFor('nightly-report', 'done', { timeoutMs: 10_000 });
  console.log('finished:', done.output);
  await registry.close();
}
