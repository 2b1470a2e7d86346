// A registry process for the multi-process tests: hosts actors on a shared
// PostgresStore and answers JSON-line commands on stdin, one JSON line each on stdout.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { assign, setup } from 'xstate';
import { createHttpHandler, toNodeListener } from '../../src/http/index.js';
import { createRegistry, type RegistryError } from '../../src/index.js';
import { PostgresStore } from '../../src/postgres.js';
import { counter } from '../fixtures.js';

/** Rings 1.5 s after it is created, recording when. */
const alarm = setup({ types: { context: {} as { rangAt: number | null } } }).createMachine({
  context: { rangAt: null },
  initial: 'armed',
  states: {
    armed: { after: { 1500: { target: 'rang', actions: assign({ rangAt: () => Date.now() }) } } },
    rang: {},
  },
});

/** Records every (sender, seq) it applies, in order: what the exactly-once tests compare. */
const ledger = setup({
  types: {
    context: {} as { applied: string[] },
    events: {} as { type: 'APPLY'; from: string; seq: number },
  },
}).createMachine({
  context: { applied: [] },
  on: {
    APPLY: {
      actions: assign({
        applied: ({ context, event }) => [...context.applied, `${event.from}:${event.seq}`],
      }),
    },
  },
});

/** Keeps what STORE brings, until CLEAR: a state that can grow past maxRecordBytes. */
const stash = setup({
  types: {
    context: {} as { data: string[] },
    events: {} as { type: 'STORE'; data: string } | { type: 'CLEAR' },
  },
}).createMachine({
  context: { data: [] },
  on: {
    STORE: { actions: assign({ data: ({ context, event }) => [...context.data, event.data] }) },
    CLEAR: { actions: assign({ data: () => [] }) },
  },
});

const [url, table, durability, profile = 'v1'] = process.argv.slice(2) as [
  string,
  string,
  'relaxed' | 'strict',
  'v1' | 'v2' | undefined,
];
/**
 * Two deploys of one application: v2 has a newer version of `counter` and a
 * `beacon` type that v1 lacks.
 */
const profiles = {
  v1: { counter, alarm, ledger, stash },
  v2: {
    counter: { machine: counter, version: 2, migrate: (s: unknown) => s },
    alarm,
    ledger,
    stash,
    beacon: counter,
  },
};
const store = new PostgresStore({
  connectionString: url,
  table,
  leaseMs: Number(process.env.XR_LEASE_MS ?? 1000),
  ...(process.env.XR_OWNER_ID ? { ownerId: process.env.XR_OWNER_ID } : {}),
});
const registry = createRegistry({
  machines: profiles[profile] as typeof profiles.v1,
  store,
  durability,
  takeoverIntervalMs: 200,
  // A test of states too large to store sets a small limit.
  ...(process.env.XR_MAX_RECORD_BYTES
    ? { maxRecordBytes: Number(process.env.XR_MAX_RECORD_BYTES) }
    : {}),
});
// Reported to the parent through command results, the database and the 'errors' command.
const errors: string[] = [];
registry.on('error', (err) => errors.push(`${err.code}: ${err.message}`.slice(0, 300)));
const quarantined: string[] = [];
/** Actors that spawnSingleton gave back, kept across commands. */
const held = new Map<string, { send(event: unknown): void; getSnapshot(): { context: unknown } }>();
registry.on('quarantined', ({ key }) => quarantined.push(key));
await registry.start();
const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);
out({ ready: store.ownerId });

const fail = (err: unknown) => ({
  ok: false,
  code: (err as RegistryError).code ?? 'UNKNOWN',
  details: (err as RegistryError).details ?? {},
  message: String((err as Error).message),
});

async function run(cmd: {
  op: string;
  id?: string;
  ids?: string[];
  type?: string;
  input?: unknown;
  event?: unknown;
  from?: string;
  count?: number;
  key?: string;
}) {
  switch (cmd.op) {
    case 'ensureMany': {
      const results = await Promise.all(
        (cmd.ids ?? []).map((id) =>
          registry.ensureSingleton(cmd.type as 'counter', id, { input: cmd.input as never }).then(
            (r) => ({ id, ok: true, created: r.created }),
            (err) => ({ id, ...fail(err) }),
          ),
        ),
      );
      return { ok: true, results };
    }
    case 'ensure': {
      const r = await registry.ensureSingleton(cmd.type as 'counter', cmd.id as string, {
        input: cmd.input as never,
      });
      return { ok: true, created: r.created, status: r.status };
    }
    case 'send':
      await registry.send(
        cmd.id as string,
        cmd.event as never,
        cmd.key === undefined ? {} : { idempotencyKey: cmd.key },
      );
      return { ok: true };
    case 'status':
      return {
        ok: true,
        status: await registry.getStatus(cmd.id as string),
        local: registry.get(cmd.id as string) !== undefined,
      };
    case 'list':
      return { ok: true, ...(await registry.list({ limit: 1000 })) };
    case 'stream': {
      // Sends seq 1..count to every ID, one after the other per ID, all IDs at once;
      // each acknowledged send is reported at once (the process may be killed).
      const from = cmd.from as string;
      await Promise.all(
        (cmd.ids ?? []).map(async (id) => {
          for (let seq = 1; seq <= (cmd.count as number); seq++) {
            for (let attempt = 0; ; attempt++) {
              try {
                await registry.send(id, { type: 'APPLY', from, seq } as never, {
                  idempotencyKey: `${from}:${seq}`,
                });
                out({ ack: [id, seq] });
                break;
              } catch (err) {
                if (attempt >= 50) {
                  out({ nack: [id, seq, (err as RegistryError).code] });
                  return;
                }
                await new Promise((r) => setTimeout(r, 100));
              }
            }
          }
        }),
      );
      return { ok: true };
    }
    case 'http': {
      const server = createServer(toNodeListener(createHttpHandler(registry)));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return { ok: true, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    }
    case 'stop':
      return { ok: true, status: await registry.stop(cmd.id as string, 'remote') };
    case 'purge':
      await registry.purge(cmd.id as string, { force: true });
      return { ok: true };
    case 'waitFor':
      return {
        ok: true,
        status: await registry.waitFor(
          cmd.id as string,
          (s) => (s.context as { count?: number }).count === cmd.count,
          { timeoutMs: 30_000 },
        ),
      };
    case 'spawn': {
      const actor = await registry.spawnSingleton(cmd.type as 'counter', cmd.id as string);
      return {
        ok: true,
        id: actor.id,
        snapshot: actor.getSnapshot().context,
        local: registry.get(cmd.id as string) !== undefined,
      };
    }
    case 'hold': {
      // spawnSingleton, keeping the Actor it gives back for later 'sendHeld' commands.
      const actor = await registry.spawnSingleton(cmd.type as 'counter', cmd.id as string);
      held.set(cmd.id as string, actor);
      return { ok: true, snapshot: actor.getSnapshot().context };
    }
    case 'sendHeld': {
      const actor = held.get(cmd.id as string);
      for (let i = 0; i < (cmd.count ?? 1); i++) actor?.send(cmd.event as never);
      return { ok: true };
    }
    case 'ensureHandle': {
      const r = await registry.ensureSingleton(cmd.type as 'counter', cmd.id as string);
      await r.handle.send(cmd.event as never);
      return {
        ok: true,
        created: r.created,
        handle: { id: r.handle.id, type: r.handle.type },
        snapshot: (await r.handle.getSnapshot()).context,
        local: registry.get(cmd.id as string) !== undefined,
      };
    }
    case 'errors':
      return { ok: true, errors };
    case 'quarantined':
      return { ok: true, quarantined };
    case 'close':
      await registry.close();
      return { ok: true };
  }
  throw new Error(`unknown op ${cmd.op}`);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { seq: number; op: string };
  run(cmd).then(
    (r) => out({ seq: cmd.seq, ...r }),
    (err) => out({ seq: cmd.seq, ...fail(err) }),
  );
});
