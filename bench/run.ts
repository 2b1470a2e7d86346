/**
 * `npm run bench`: measures xstate-registry against bare XState in the same run
 * and prints a table: per row the median and the best of N alternated rounds
 * (BENCH_ROUNDS, 7 by default), the ratio of each, the ratio of instruction
 * counts where the row is backed by a counted scenario (bench/instructions.ts),
 * the target (issue 13's table where it sets one) and whether it is met.
 * It measures the built package (dist/), as users run it: the npm script
 * builds first and passes --expose-gc.
 * BENCH_SECTIONS=creation,events runs only those wall-clock sections (creation,
 * events, strict, restore, heap, list, encoding, postgres), without counts or soak;
 * BENCH_QUICK=1 runs small counts (a smoke run; its figures mean little);
 * BENCH_ONLY=instructions runs the instruction counts alone; BENCH_SCENARIOS=spawn,spawn-written
 * counts only the named scenarios (with BENCH_ONLY=instructions: a few rows in minutes);
 * BENCH_COUNT_PASSES=2 counts twice (the spread then includes the difference between the passes;
 * one pass by default: rounds run until two agree, see bench/instructions.ts).
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AnyActor, createActor } from 'xstate';
import { createRegistry, FileStore, MemoryStore, type Store } from 'xstate-registry';
import { PostgresStore } from 'xstate-registry/postgres';
import { fileNameFor } from '../dist/stores/file-name.js';
import { findPgBin, startPg, stopPg } from '../test/pg/server.js';
import { codecSamples, LIST_ITEMS, loadCodec } from './codec.js';
import {
  compare,
  fmtBytes,
  fmtMs,
  fmtRate,
  header,
  heapUsed,
  type Stat,
  summarize,
  time,
} from './harness.js';
import { countInstructions } from './instructions.js';
import { counter } from './machine.js';
import {
  floorCreate,
  floorFinish,
  floorRefuse,
  registryCreateStrict,
  registryFinish,
  registryRefuse,
  sendStrict,
} from './pg-scenarios.js';
import {
  above,
  addRow,
  atLeast,
  atMost,
  type Counts,
  renderCounts,
  renderTable,
  TARGETS,
  type Target,
} from './report.js';
import {
  bareCreate,
  bareSend,
  decodeSides,
  encodeSides,
  machines,
  type Reg,
  registryCreate,
  registrySend,
  scenario,
  started,
  tempDir,
} from './scenarios.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 7));
const N = QUICK ? 2_000 : 20_000;
/** Events per send row. */
const E = N * 5;
const STORED = Number(process.env.BENCH_STORED ?? (QUICK ? 5_000 : 100_000));
const SOAK = Number(process.env.BENCH_SOAK ?? (QUICK ? 20_000 : 1_000_000));
/** Under callgrind everything runs ~50x slower: small counts, in rounds (see bench/instructions.ts). */
const COUNT = {
  scale: Number(process.env.BENCH_COUNT_SCALE ?? (QUICK ? 0.1 : 1)),
  // At most: under callgrind a scenario's rounds stop when two agree (bench/instructions.ts).
  rounds: Number(process.env.BENCH_COUNT_ROUNDS ?? (QUICK ? 4 : 20)),
  stored: QUICK ? 100 : 1_000,
  // One pass: under --predictable a second replays the same instructions (README, Performance);
  // BENCH_COUNT_PASSES=2 counts twice and adds the difference between the passes to each spread.
  passes: (process.env.BENCH_COUNT_PASSES === '2' ? 2 : 1) as 1 | 2,
};

/** Keeps nothing: isolates the registry's own cost from any storage. */
class NullStore implements Store {
  async open() {}
  async *load() {}
  async read() {
    return undefined;
  }
  async write() {}
  async remove() {}
  async quarantine() {}
  async close() {}
}

const one = (v: number): Stat => summarize([v], true);

/** A rate row from a comparison of two sides (`[bare, registry]`). */
async function rateRow(
  figure: string,
  n: number,
  [bare, registry]: [Parameters<typeof compare>[1], Parameters<typeof compare>[2]],
  target?: Target,
  counted?: string,
) {
  const [b, r] = await compare(n, bare, registry, ROUNDS);
  addRow({
    figure,
    registry: r,
    baseline: b,
    fmt: fmtRate,
    by: 'ratio',
    higherIsBetter: true,
    ...(target ? { target } : {}),
    ...(counted ? { counted } : {}),
  });
}

const sides = (name: string) => {
  const s = scenario(name, {});
  if (!s) throw new Error(`scenario ${name} needs a context`);
  return s;
};

// 1 and 2: creating singletons, and asking for one that is live.
async function creation() {
  await rateRow(
    '1a. spawnSingleton, new IDs, memory store (the write follows), vs createActor into a Map',
    N,
    sides('spawn'),
    TARGETS.spawn,
    'spawn',
  );
  await rateRow(
    '1b. the same, until every new instance is written',
    N,
    sides('spawn-written'),
    TARGETS.spawnWritten,
    'spawn-written',
  );
  await rateRow(
    "1f. the floor under 1b, no registry: createActor, then XState's getPersistedSnapshot and JSON.stringify of it, into Maps, vs createActor into a Map",
    N,
    sides('spawn-floor'),
    undefined,
    'spawn-floor',
  );

  const registry = await started(new MemoryStore());
  await registry.spawnSingleton('counter', 'live');
  const [live, create] = await compare(
    N * 10,
    {
      run: async (_: unknown, n: number) => {
        for (let i = 0; i < n; i++) await registry.spawnSingleton('counter', 'live');
      },
    },
    {
      ...registryCreate(() => new MemoryStore(), false),
      // A tenth of the IDs, so that both sides take about as long.
      run: async (r: Reg, n: number) => {
        for (let i = 0; i < n / 10; i++) await r.spawnSingleton('counter', `id-${i}`);
      },
    },
    ROUNDS,
  );
  await registry.close();
  const perCreate = (s: Stat): Stat => ({
    median: s.median / 10,
    best: s.best / 10,
    runs: s.runs.map((x) => x / 10),
  });
  addRow({
    figure: '2. spawnSingleton, live ID, vs creating one (1a)',
    registry: live,
    baseline: perCreate(create),
    fmt: fmtRate,
    by: 'ratio',
    higherIsBetter: true,
    target: atLeast(20),
  });
}

// 3 and 4: events through hosted actors: one actor awaited, 100 actors pipelined.
async function events() {
  await rateRow(
    '3. send, memory store, 1 actor, each send awaited (incl. flush)',
    E,
    sides('send-1-memory'),
    TARGETS.sendMemory,
    'send-1-memory',
  );
  await rateRow(
    '3h. send as in 3 with history on (100 entries kept), vs history off',
    E,
    sides('send-1-memory-history'),
  );
  await rateRow(
    '3p. send, memory store, 100 actors, pipelined (incl. flush), vs a Map of 100',
    E,
    sides('send-100-memory'),
    TARGETS.sendMemory,
    'send-100-memory',
  );
  await rateRow(
    '4. send, file store, relaxed, 1 actor, each send awaited (incl. flush)',
    E,
    sides('send-1-file'),
    TARGETS.sendFile,
    'send-1-file',
  );
  await rateRow(
    '4p. send, file store, relaxed, 100 actors, pipelined (incl. flush), vs a Map of 100',
    E,
    sides('send-100-file'),
    TARGETS.sendFile,
    'send-100-file',
  );
}

// 5: strict durability against a plain write-fsync-rename loop on the same disk.
async function strict() {
  const count = QUICK ? 100 : 600;
  const text = JSON.stringify({ count: 0, pad: 'x'.repeat(300) });
  const plainLoop = {
    setup: tempDir,
    run: async (dir: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const tmp = join(dir, 'plain.tmp');
        const h = await open(tmp, 'w');
        await h.writeFile(text);
        await h.sync();
        await h.close();
        await rename(tmp, join(dir, 'plain.json'));
        const d = await open(dir, 'r');
        await d.sync();
        await d.close();
      }
    },
    teardown: (dir: string) => rm(dir, { recursive: true, force: true }),
  };
  for (const actors of [1, 100]) {
    const ids = Array.from({ length: actors }, (_, i) => `s${i}`);
    const [plain, reg] = await compare(
      count,
      plainLoop,
      {
        setup: async () => {
          const store = new FileStore({ dir: await tempDir() });
          const r = await started(store, { durability: 'strict' });
          for (const id of ids) await r.spawnSingleton('counter', id);
          return { r, store };
        },
        run: async ({ r }: { r: Reg }, n: number) => {
          const per = Math.ceil(n / actors);
          await Promise.all(
            ids.map(async (id) => {
              for (let i = 0; i < per; i++) await r.send(id, { type: 'INC' });
            }),
          );
        },
        teardown: async ({ r, store }: { r: Reg; store: FileStore }) => {
          await r.close();
          await rm(store.dir, { recursive: true, force: true });
        },
      },
      ROUNDS,
    );
    addRow({
      figure: `5. strict send, ${actors} actor${actors > 1 ? 's' : ''}, vs write-fsync-rename loop`,
      registry: reg,
      baseline: plain,
      fmt: fmtRate,
      by: 'ratio',
      higherIsBetter: true,
      ...(actors === 1 ? {} : { target: above(1) }),
    });
  }
}

/** Writes `count` records (from one real record) straight to a file store's directory. */
async function storedDir(count: number): Promise<string> {
  const seedStore = new MemoryStore();
  const seed = await started(seedStore);
  await seed.spawnSingleton('counter', 'template');
  await seed.send('template', { type: 'INC' });
  await seed.close();
  const template = JSON.parse(seedStore.peek('template') as string);
  const dir = await tempDir();
  await mkdir(join(dir, 'instances'), { recursive: true });
  for (let i = 0; i < count; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - i) }, (_, k) => {
        const id = `stored-${i + k}`;
        return writeFile(
          join(dir, 'instances', fileNameFor(id)),
          JSON.stringify({ ...template, id }),
        );
      }),
    );
  }
  return dir;
}

// 6: start() over stored instances: restoring them all, and with passivation.
// Each measurement runs in a fresh process (bench/start-child.ts), in alternated rounds.
async function restore() {
  const dir = await storedDir(STORED);
  const child = (mode: string) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'start-child.ts'), dir, mode],
        { encoding: 'utf8' },
      ),
    ) as { ms: number; heapPerInstance: number; hosted: number };
  const modes = ['bare', 'registry', 'passive', 'bare-read'] as const;
  const runs = { bare: [], registry: [], passive: [], 'bare-read': [] } as Record<
    (typeof modes)[number],
    ReturnType<typeof child>[]
  >;
  for (let i = 0; i < ROUNDS; i++) for (const mode of modes) runs[mode].push(child(mode));
  const ms = (mode: (typeof modes)[number]) =>
    summarize(
      runs[mode].map((r) => r.ms),
      false,
    );
  const heap = (mode: (typeof modes)[number]) =>
    summarize(
      runs[mode].map((r) => r.heapPerInstance),
      false,
    );
  const stored = STORED.toLocaleString('en-US');
  addRow({
    figure: `6. start() restoring ${stored} stored instances (time)`,
    registry: ms('registry'),
    baseline: ms('bare'),
    fmt: fmtMs,
    by: 'ratio',
    higherIsBetter: false,
    target: TARGETS.start,
    counted: 'start',
  });
  addRow({
    figure: `6r. the same start(), vs bare XState doing the same work: reading and parsing the ${stored} files too, then restoring`,
    registry: ms('registry'),
    baseline: ms('bare-read'),
    fmt: fmtMs,
    by: 'ratio',
    higherIsBetter: false,
  });
  addRow({
    figure: '6. heap after that start(), per instance',
    registry: heap('registry'),
    baseline: heap('bare'),
    fmt: fmtBytes,
    by: 'ratio',
    higherIsBetter: false,
  });
  addRow({
    figure: `6p. the same start() with idle passivation (${runs.passive[0]?.hosted} hosted)`,
    registry: ms('passive'),
    baseline: ms('bare'),
    fmt: fmtMs,
    by: 'ratio',
    higherIsBetter: false,
  });
  addRow({
    figure: '6p. heap after it, per stored instance',
    registry: heap('passive'),
    baseline: heap('bare'),
    fmt: fmtBytes,
    by: 'ratio',
    higherIsBetter: false,
    target: { text: '< 0.25x (grows with live, not stored)', holds: (v) => v < 0.25 },
  });
  await rm(dir, { recursive: true, force: true });
}

// 7: heap per idle live actor, in alternated rounds.
async function heap() {
  const n = N;
  const bare: number[] = [];
  const reg: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(bareHeap(n));
    reg.push(await registryHeap(n));
  }
  addRow({
    figure: '7. heap per idle live actor (registry: no store), vs createActor into a Map',
    registry: summarize(reg, false),
    baseline: summarize(bare, false),
    fmt: fmtBytes,
    by: 'difference',
    higherIsBetter: false,
    target: TARGETS.heapPerIdleActor,
  });
}

/** Heap per actor of n bare actors held in a Map. */
function bareHeap(n: number): number {
  const before = heapUsed();
  const map = new Map<string, AnyActor>();
  for (let i = 0; i < n; i++) map.set(`id-${i}`, createActor(counter, { id: `id-${i}` }).start());
  const perActor = (heapUsed() - before) / n;
  for (const a of map.values()) a.stop();
  return perActor;
}

/** Heap per idle actor of a registry without a store, as {@link bareHeap} measures it. */
async function registryHeap(n: number): Promise<number> {
  const registry = await started(new NullStore());
  const before = heapUsed();
  for (let i = 0; i < n; i++) await registry.spawnSingleton('counter', `id-${i}`);
  await registry.flush();
  const perActor = (heapUsed() - before) / n;
  await registry.close();
  return perActor;
}

// 8: the exact encoding: the registry's record codec vs JSON.stringify / JSON.parse.
async function encoding() {
  const codec = await loadCodec();
  const figures = [
    ['8a. encode a record, plain-JSON state, vs JSON.stringify', 'encode-plain'],
    ['8b. decode it, vs JSON.parse', 'decode-plain'],
    [
      '8c. encode a record whose state holds Dates and Maps, vs JSON.stringify of its plain form',
      'encode-rich',
    ],
    ['8d. decode it, vs JSON.parse', 'decode-rich'],
  ] as const;
  if (!codec) {
    for (const [figure, name] of figures)
      addRow({
        figure,
        registry: one(0),
        baseline: one(0),
        fmt: fmtRate,
        by: 'ratio',
        higherIsBetter: true,
        ...(name.endsWith('plain') ? { target: TARGETS.codecPlainJson } : {}),
        unavailable: 'n/a (no codec in dist/)',
      });
    return;
  }
  console.error(`  (codec: ${codec.name})`);
  const samples = await codecSamples();
  for (const [figure, name] of figures) {
    const sample = name.endsWith('plain') ? samples.plain : samples.rich;
    await rateRow(
      figure,
      N * 5,
      name.startsWith('encode') ? encodeSides(codec, sample) : decodeSides(codec, sample),
      name.endsWith('plain') ? TARGETS.codecPlainJson : undefined,
      name,
    );
  }
  // Quoted, wall clock only: the proof that a state is plain JSON looks at every
  // object's own keys, which costs most where a state is a long list of objects.
  const list = `a list of ${LIST_ITEMS.toLocaleString('en-US')} small objects`;
  await rateRow(
    `8e. encode a record, plain-JSON state holding ${list}, vs JSON.stringify`,
    N / 20,
    encodeSides(codec, samples.list),
  );
  await rateRow('8f. decode it, vs JSON.parse', N / 20, decodeSides(codec, samples.list));
}

// Soak: spawn, drive and stop actors in waves; the heap must come back.
async function soak() {
  const registry = await started(new NullStore());
  const wave = 10_000;
  const before = heapUsed();
  const ms = await time(async () => {
    for (let done = 0; done < SOAK; done += wave) {
      const ids = Array.from({ length: Math.min(wave, SOAK - done) }, (_, i) => `w${done + i}`);
      for (const id of ids) await registry.spawnSingleton('counter', id);
      for (const id of ids) await registry.send(id, { type: 'INC' });
      for (const id of ids) await registry.send(id, { type: 'FINISH' });
      for (const id of ids) await registry.purge(id);
    }
    await registry.flush();
  });
  const after = heapUsed();
  await registry.close();
  addRow({
    // Its time is shared with the instruction counts running beside it: a note, not a figure.
    figure: `soak: ${SOAK.toLocaleString('en-US')} actors spawned, driven, finished, purged (${fmtMs(ms)}, beside the instruction counts): heap growth`,
    registry: one(after - before),
    baseline: one(0),
    baselineText: `heap before ${fmtBytes(before)}`,
    fmt: fmtBytes,
    by: 'difference',
    higherIsBetter: false,
    target: { text: 'back to start (< +2 MB)', holds: (v) => v < 2 * 1024 * 1024 },
  });
}

// Postgres rows: a throwaway cluster (as the tests start one), when PostgreSQL is installed.
async function postgres() {
  const bin = findPgBin();
  if (!bin) {
    console.error('  (no PostgreSQL server binaries: skipping the Postgres rows)');
    return;
  }
  const server = await startPg(bin);
  try {
    let t = 0;
    const pgStore = () =>
      new PostgresStore({ connectionString: server.url, table: `bench_${process.pid}_${t++}` });
    const pgN = QUICK ? 500 : 5_000;
    await rateRow('pg-1. spawnSingleton, new IDs, PostgreSQL (claim + write, incl. flush)', pgN, [
      bareCreate,
      registryCreate(pgStore, true),
    ]);
    await rateRow('pg-2. send, PostgreSQL, relaxed (incl. flush)', N * 5, [
      bareSend,
      registrySend(async () => pgStore()),
    ]);

    // The hot path against the least SQL each operation needs (issue 14): one statement, one commit or none.
    const url = server.url;
    for (const callers of [1, 32])
      await rateRow(
        `pg-4. spawnSingleton, new IDs, strict, ${callers} caller(s), vs INSERT ... ON CONFLICT DO NOTHING`,
        pgN,
        [floorCreate(url, callers), registryCreateStrict(url, callers)],
        atLeast(0.8),
      );
    await rateRow(
      'pg-5. spawnSingleton of an ID another live process hosts (a refused claim and a read of its record: a stand-in), vs one SELECT',
      pgN,
      [floorRefuse(url), registryRefuse(url)],
    );
    await rateRow(
      'pg-6. finishing (send FINISH, strict), vs one fenced UPDATE that frees the lease',
      pgN / 5,
      [floorFinish(url, pgN / 5), registryFinish(url, pgN / 5)],
      atLeast(0.8),
    );

    // Any process reaches any instance (issue 14): a send from a registry that does not host
    // the instance, mailed through the inbox, vs the same send from its owner, same database.
    for (const callers of [1, 32])
      await rateRow(
        `pg-7. send from a process that does not host the instance, strict, ${callers} caller(s), vs a local strict send`,
        pgN / 5,
        [sendStrict(url, callers, false), sendStrict(url, callers, true)],
      );

    // Takeover: a worker process hosting an instance is killed; how long until another process hosts it?
    const takeovers: number[] = [];
    for (let round = 0; round < (QUICK ? 1 : 3); round++)
      takeovers.push(await takeover(server.url, round));
    addRow({
      figure: 'pg-3. takeover after SIGKILL of the owner (lease 1 s, sweep 0.2 s)',
      registry: summarize(takeovers, false),
      baseline: one(1200),
      baselineText: 'lease + sweep = 1.2 s',
      fmt: fmtMs,
      by: 'ratio',
      higherIsBetter: false,
      target: atMost(1.1, ' (lease + sweep, +0.1 s)'),
    });
  } finally {
    stopPg(server);
  }
}

// 9: one page of list() at STORED instances, served from the index; the baseline is the full scan it replaced.
async function list() {
  const registry = await started(new NullStore());
  const n = STORED;
  for (let i = 0; i < n; i++) await registry.spawnSingleton('counter', `l${i}`);
  const pages = 1000;
  await registry.list({ limit: 1 });
  const ms =
    (await time(async () => {
      for (let i = 0; i < pages; i++) await registry.list({ limit: 1 });
    })) / pages;
  // The full scan list() did before: filter and sort every instance for each page.
  const { queryInstances } = await import('../dist/list-query.js');
  const plain = Array.from({ length: n }, (_, i) => ({
    id: `l${i}`,
    type: 'counter',
    status: 'running' as const,
    createdAt: i,
    updatedAt: i,
  }));
  const scanMs =
    (await time(() => {
      for (let i = 0; i < 10; i++) queryInstances(plain as never, { limit: 1 });
    })) / 10;
  await registry.close();
  addRow({
    figure: `9. list({ limit: 1 }) at ${n.toLocaleString('en-US')} instances, per page, vs the full scan it replaced`,
    registry: one(ms),
    baseline: one(scanMs),
    // A page costs microseconds: milliseconds with one decimal would print 0.0.
    fmt: (v) => (v < 1 ? `${(v * 1000).toFixed(1)} µs` : fmtMs(v)),
    by: 'ratio',
    higherIsBetter: false,
  });
}

async function takeover(url: string, round: number): Promise<number> {
  const table = `bench_takeover_${process.pid}_${round}`;
  const worker = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, '..', 'test', 'pg', 'worker.ts'),
      url,
      table,
      'strict',
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve) => worker.stdout.once('data', () => resolve()));
  worker.stdin.write(
    `${JSON.stringify({ seq: 1, op: 'ensure', type: 'counter', id: 'victim' })}\n`,
  );
  await new Promise<void>((resolve) => worker.stdout.once('data', () => resolve()));
  const successor = createRegistry({
    machines,
    store: new PostgresStore({ connectionString: url, table, leaseMs: 1000 }),
    takeoverIntervalMs: 200,
  });
  await successor.start();
  const killedAt = performance.now();
  worker.kill('SIGKILL');
  while (!successor.get('victim')) await new Promise((r) => setTimeout(r, 5));
  const ms = performance.now() - killedAt;
  await successor.close();
  return ms;
}

/** The instruction counts backing rows 1a, 1b, 3, 3p, 4, 4p, 6 and 8, after the wall-clock rows. */
async function instructions(): Promise<Counts> {
  console.error('  counting instructions...');
  const dir = await storedDir(COUNT.stored);
  const n = (x: number) => Math.max(10, Math.round(x * COUNT.scale));
  const r = COUNT.rounds;
  // BENCH_SCENARIOS=spawn,spawn-written counts only the named scenarios (e.g. while working on one row).
  const named = process.env.BENCH_SCENARIOS?.split(',').filter(Boolean) ?? [];
  // Empty or unset: all of them (an empty list used to count nothing, silently).
  const only = named.length > 0 ? named : undefined;
  try {
    return await countInstructions({
      storedDir: dir,
      passes: COUNT.passes,
      scenarios: [
        { name: 'spawn', n: n(300), rounds: r },
        { name: 'spawn-written', n: n(300), rounds: r },
        { name: 'spawn-floor', n: n(300), rounds: r },
        // The send rows time E sends and one final flush (one write per actor):
        // counted at n and 3n, their figure is the count predicted for E sends.
        { name: 'send-1-memory', n: n(1000), rounds: r, at: E },
        { name: 'send-100-memory', n: n(1000), rounds: r, at: E },
        { name: 'send-1-file', n: n(1000), rounds: r, at: E },
        { name: 'send-100-file', n: n(1000), rounds: r, at: E },
        // n is the number of stored instances: start() restores them all.
        { name: 'start', n: COUNT.stored, rounds: QUICK ? 3 : 6 },
        { name: 'encode-plain', n: n(1000), rounds: r },
        { name: 'decode-plain', n: n(1000), rounds: r },
        { name: 'encode-rich', n: n(1000), rounds: r },
        { name: 'decode-rich', n: n(1000), rounds: r },
      ].filter((s) => !only || only.includes(s.name)),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Each section's wall time, printed to stderr as it ends and summed up at the end: what a full run spends where. */
const timings: string[] = [];
const startedAt = performance.now();
async function section<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await fn();
  const took = fmtMs(performance.now() - t0);
  timings.push(`${name} ${took}`);
  console.error(`  [${name}: ${took}]`);
  return result;
}

console.log(header());
if (process.env.BENCH_ONLY === 'instructions') {
  // The instruction counts alone (a few minutes), e.g. to check their repeatability.
  console.log(renderCounts(await section('instruction counts', instructions)));
  process.exit(0);
}
if (process.env.BENCH_ONLY === 'postgres') {
  // The PostgreSQL rows alone (a few minutes), e.g. after a change to the store.
  await section('postgres (pg-*)', postgres);
  console.log(renderTable({ unavailable: 'not counted (BENCH_ONLY=postgres)' }));
  process.exit(0);
}
// BENCH_SECTIONS=creation,events runs only the named wall-clock sections (no
// instruction counts, no soak): a few minutes, e.g. to rerun the rows a change touched.
const sectionNames = process.env.BENCH_SECTIONS?.split(',').filter(Boolean);
if (sectionNames && sectionNames.length > 0) {
  const all: Record<string, () => Promise<unknown>> = {
    creation,
    events,
    strict,
    restore,
    heap,
    list,
    encoding,
    postgres,
  };
  for (const name of sectionNames) {
    const fn = all[name];
    if (!fn)
      throw new Error(`BENCH_SECTIONS: unknown section ${name} (${Object.keys(all).join(', ')})`);
    await section(name, fn);
  }
  console.log(renderTable({ unavailable: 'not counted (BENCH_SECTIONS)' }));
  process.exit(0);
}
console.log(
  `Counts: ${N.toLocaleString('en-US')} creations, ${(N * 5).toLocaleString('en-US')} events, ${STORED.toLocaleString('en-US')} stored instances, soak ${SOAK.toLocaleString('en-US')}; ${ROUNDS} alternated rounds per row${QUICK ? ' (BENCH_QUICK)' : ''}`,
);
await section('creation (1a, 1b, 2)', creation);
await section('events (3, 3h, 3p, 4, 4p)', events);
await section('strict (5)', strict);
await section('restore (6, 6p)', restore);
await section('heap (7)', heap);
await section('list (9)', list);
await section('encoding (8a-8f)', encoding);
await section('postgres (pg-*)', postgres);
// The soak's figure is bytes, which do not depend on the load, nor do the instruction
// counts (--predictable): they run together, after every wall-clock row (its row comes last).
const counting = section('instruction counts', instructions);
// Handled when awaited below; until then a failure must not end the process mid-soak.
counting.catch(() => {});
await section('soak', soak);
const counts = await counting;
console.error(`  sections: ${timings.join(', ')}; total ${fmtMs(performance.now() - startedAt)}`);
console.log();
console.log(renderTable(counts));
console.log();
console.log(renderCounts(counts));
