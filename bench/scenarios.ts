/**
 * The work each comparison times, shared by the wall-clock rows (bench/run.ts)
 * and the instruction counts (bench/count-child.ts), so both measure the same
 * thing. Bare XState holds its actors in a `Map`, as an application would.
 * Imports the package by its own name, so that the compiled copy the
 * instruction counter runs resolves it too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AnyActor, createActor } from 'xstate';
import { createRegistry, FileStore, MemoryStore, type Registry, type Store } from 'xstate-registry';
import type { Codec, CodecSample } from './codec.js';
import type { Side } from './harness.js';
import { counter } from './machine.js';

export const machines = { counter };
export type Reg = Registry<typeof machines>;

export const tempDir = () => mkdtemp(join(tmpdir(), 'xreg-bench-'));

export async function started(store: Store, extra: Record<string, unknown> = {}): Promise<Reg> {
  const registry = createRegistry({ machines, store, ...extra });
  await registry.start();
  return registry;
}

/** How many actors the pipelined sends go to. */
export const ACTORS = 100;
const actorIds = Array.from({ length: ACTORS }, (_, i) => `a${i}`);
const INC = { type: 'INC' } as const;

/** `createActor(machine).start()` on n new IDs into a `Map`; stopping them is not timed. */
export const bareCreate: Side<Map<string, AnyActor>> = {
  setup: () => new Map(),
  run: (map, n) => {
    for (let i = 0; i < n; i++) map.set(`id-${i}`, createActor(counter, { id: `id-${i}` }).start());
  },
  teardown: (map) => {
    for (const a of map.values()) a.stop();
  },
};

/**
 * The floor under "spawn until written" (1b) without any registry: what XState
 * itself costs to create an actor and produce its record (`getPersistedSnapshot`,
 * then `JSON.stringify`), both kept in `Map`s. No store can write for less.
 */
export const bareCreateWritten: Side<{
  actors: Map<string, AnyActor>;
  records: Map<string, string>;
}> = {
  setup: () => ({ actors: new Map(), records: new Map() }),
  run: ({ actors, records }, n) => {
    for (let i = 0; i < n; i++) {
      const actor = createActor(counter, { id: `id-${i}` }).start();
      actors.set(`id-${i}`, actor);
      records.set(`id-${i}`, JSON.stringify(actor.getPersistedSnapshot()));
    }
  },
  teardown: ({ actors }) => {
    for (const a of actors.values()) a.stop();
  },
};

/** `await spawnSingleton` on n new IDs (then `flush()` if asked), on a fresh registry over `makeStore()`. */
export const registryCreate = (makeStore: () => Store, flush: boolean): Side<Reg> => ({
  setup: () => started(makeStore()),
  run: async (r, n) => {
    for (let i = 0; i < n; i++) await r.spawnSingleton('counter', `id-${i}`);
    if (flush) await r.flush();
  },
  teardown: (r) => r.close(),
});

/** n `actor.send` to one bare actor. */
export const bareSend: Side<AnyActor> = {
  setup: () => createActor(counter).start(),
  run: (a, n) => {
    for (let i = 0; i < n; i++) a.send(INC);
  },
  teardown: (a) => void a.stop(),
};

/** A started registry and its store (a file store's directory is removed at teardown). */
export interface Hosted {
  r: Reg;
  store: Store;
}

async function hosting(
  makeStore: () => Promise<Store>,
  ids: string[],
  extra: Record<string, unknown> = {},
): Promise<Hosted> {
  const store = await makeStore();
  const r = await started(store, extra);
  for (const id of ids) await r.spawnSingleton('counter', id);
  await r.flush();
  return { r, store };
}

async function closeHosted({ r, store }: Hosted): Promise<void> {
  await r.close();
  if (store instanceof FileStore) await rm(store.dir, { recursive: true, force: true });
}

/** `await registry.send` n times to one actor, then `flush()` (`extra`: more registry options). */
export const registrySend = (
  makeStore: () => Promise<Store>,
  extra: Record<string, unknown> = {},
): Side<Hosted> => ({
  setup: () => hosting(makeStore, ['c'], extra),
  run: async ({ r }, n) => {
    for (let i = 0; i < n; i++) await r.send('c', INC);
    await r.flush();
  },
  teardown: closeHosted,
});

/**
 * n sends over {@link ACTORS} bare actors held in a `Map`, in the same batches
 * as {@link registrySendPipelined}: XState's `send` returns nothing to await.
 */
export const bareSendPipelined: Side<Map<string, AnyActor>> = {
  setup: () => new Map(actorIds.map((id) => [id, createActor(counter, { id }).start()])),
  run: (map, n) => {
    for (let done = 0; done < n; done += ACTORS) for (const id of actorIds) map.get(id)?.send(INC);
  },
  teardown: (map) => {
    for (const a of map.values()) a.stop();
  },
};

/**
 * n sends over {@link ACTORS} hosted actors, pipelined: each batch sends one
 * event to every actor without awaiting each send, then awaits the batch; then `flush()`.
 */
export const registrySendPipelined = (makeStore: () => Promise<Store>): Side<Hosted> => ({
  setup: () => hosting(makeStore, actorIds),
  run: async ({ r }, n) => {
    const batch: Promise<void>[] = new Array(ACTORS);
    for (let done = 0; done < n; done += ACTORS) {
      for (let k = 0; k < ACTORS; k++) batch[k] = r.send(actorIds[k] as string, INC);
      await Promise.all(batch);
    }
    await r.flush();
  },
  teardown: closeHosted,
});

/** A file store in a new temporary directory, removed when the registry over it closes. */
export const fileStore = async () => new FileStore({ dir: await tempDir() });
export const memoryStore = async () => new MemoryStore();

/**
 * Bare XState restoring the snapshots of a stored directory, already parsed in
 * memory (reading and parsing them is setup, not timed); n is ignored: all of them.
 */
export const bareRestore = (
  dir: string,
): Side<{ snapshots: unknown[]; map: Map<number, AnyActor> }> => ({
  setup: () => ({
    snapshots: readdirSync(join(dir, 'instances')).map(
      (name) => JSON.parse(readFileSync(join(dir, 'instances', name), 'utf8')).snapshot,
    ),
    map: new Map(),
  }),
  run: ({ snapshots, map }) => {
    for (const [i, snapshot] of snapshots.entries())
      map.set(i, createActor(counter, { snapshot: snapshot as never }).start());
  },
  teardown: ({ map }) => {
    for (const a of map.values()) a.stop();
  },
});

/**
 * {@link bareRestore} doing the same work as `registry.start()`: reading and
 * parsing the stored files is timed too, as it is on the registry's side.
 */
export const bareReadRestore = (dir: string): Side<Map<number, AnyActor>> => ({
  setup: () => new Map(),
  run: (map) => {
    const names = readdirSync(join(dir, 'instances'));
    for (let i = 0; i < names.length; i++) {
      const text = readFileSync(join(dir, 'instances', names[i] as string), 'utf8');
      map.set(i, createActor(counter, { snapshot: JSON.parse(text).snapshot }).start());
    }
  },
  teardown: (map) => {
    for (const a of map.values()) a.stop();
  },
});

/** `registry.start()` over a copy of `dir` (removed at teardown). */
const restoredCopy = (dir: string): Side<{ r: Reg; copy: string }> => ({
  setup: async () => {
    const copy = await tempDir();
    await cp(join(dir, 'instances'), join(copy, 'instances'), { recursive: true });
    return { r: createRegistry({ machines, store: new FileStore({ dir: copy }) }), copy };
  },
  run: async ({ r }) => {
    await r.start();
  },
  teardown: async ({ r, copy }) => {
    await r.close();
    await rm(copy, { recursive: true, force: true });
  },
});

/** `registry.start()` over a stored directory (n is ignored: all of it), optionally with passivation. */
export const registryRestore = (dir: string, idleTimeoutMs?: number): Side<Reg> => ({
  setup: () =>
    createRegistry({
      machines,
      store: new FileStore({ dir }),
      ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
    }),
  run: async (r) => {
    await r.start();
  },
  teardown: (r) => r.close(),
  // A second registry on `dir` would be refused its lock: the resident one starts on a copy.
  resident: restoredCopy(dir),
});

/** n encodings of one sample: `JSON.stringify` of its plain form vs the codec. */
export const encodeSides = (codec: Codec, sample: CodecSample): [Side<void>, Side<void>] => [
  {
    run: (_, n) => {
      for (let i = 0; i < n; i++) JSON.stringify(sample.plain);
    },
  },
  {
    run: (_, n) => {
      for (let i = 0; i < n; i++) codec.encode(sample.record);
    },
  },
];

/** n decodings of one sample: `JSON.parse` of its plain form's text vs the codec on its text. */
export const decodeSides = (codec: Codec, sample: CodecSample): [Side<void>, Side<void>] => {
  const plainText = JSON.stringify(sample.plain);
  const text = codec.encode(sample.record);
  return [
    {
      run: (_, n) => {
        for (let i = 0; i < n; i++) JSON.parse(plainText);
      },
    },
    {
      run: (_, n) => {
        for (let i = 0; i < n; i++) codec.decode(text);
      },
    },
  ];
};

/** What a scenario needs beyond counts: a stored directory, the codec and its samples. */
export interface ScenarioContext {
  storedDir?: string;
  codec?: { codec: Codec; plain: CodecSample; rich: CodecSample };
}

/**
 * The counted scenarios by name: [bare, registry]. A row of the table names
 * one to be backed by instruction counts; undefined when the context lacks
 * what it needs.
 */
export function scenario(name: string, ctx: ScenarioContext): [Side<any>, Side<any>] | undefined {
  switch (name) {
    case 'spawn':
      return [bareCreate, registryCreate(() => new MemoryStore(), false)];
    case 'spawn-written':
      return [bareCreate, registryCreate(() => new MemoryStore(), true)];
    case 'spawn-floor':
      // Not the registry: the floor 1b's target has to be read against.
      return [bareCreate, bareCreateWritten];
    case 'send-1-memory':
      return [bareSend, registrySend(memoryStore)];
    case 'send-1-memory-history':
      // History off (the baseline) against on, with its default 100 entries.
      return [registrySend(memoryStore), registrySend(memoryStore, { history: {} })];
    case 'send-100-memory':
      return [bareSendPipelined, registrySendPipelined(memoryStore)];
    case 'send-1-file':
      return [bareSend, registrySend(fileStore)];
    case 'send-100-file':
      return [bareSendPipelined, registrySendPipelined(fileStore)];
    case 'start':
      return ctx.storedDir
        ? [bareRestore(ctx.storedDir), registryRestore(ctx.storedDir)]
        : undefined;
    case 'encode-plain':
      return ctx.codec && encodeSides(ctx.codec.codec, ctx.codec.plain);
    case 'decode-plain':
      return ctx.codec && decodeSides(ctx.codec.codec, ctx.codec.plain);
    case 'encode-rich':
      return ctx.codec && encodeSides(ctx.codec.codec, ctx.codec.rich);
    case 'decode-rich':
      return ctx.codec && decodeSides(ctx.codec.codec, ctx.codec.rich);
    default:
      throw new Error(`unknown scenario ${name}`);
  }
}
