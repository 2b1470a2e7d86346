/**
 * `npm run bench`: measures xstate-registry against bare XState in the same run
 * and prints a table of rates and ratios. It measures the built package (dist/),
 * as users run it: the npm script builds first and passes --expose-gc.
 * BENCH_QUICK=1 runs small counts (a smoke run; its figures mean little).
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AnyActor, createActor } from 'xstate';
import {
  createRegistry,
  FileStore,
  MemoryStore,
  type Registry,
  type Store,
} from '../dist/index.js';
import { PostgresStore } from '../dist/postgres.js';
import { fileNameFor } from '../dist/stores/file-name.js';
import { findPgBin, startPg, stopPg } from '../test/pg/server.js';
import { encodingRows } from './encoding.js';
import {
  compare,
  fmtBytes,
  fmtMs,
  fmtRate,
  header,
  heapUsed,
  type Row,
  table,
  time,
} from './harness.js';
import { counter } from './machine.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = QUICK ? 2_000 : 20_000;
const STORED = Number(process.env.BENCH_STORED ?? (QUICK ? 5_000 : 100_000));
const SOAK = Number(process.env.BENCH_SOAK ?? (QUICK ? 20_000 : 1_000_000));

const machines = { counter };
type Reg = Registry<typeof machines>;

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

const rows: Row[] = [];
function row(
  figure: string,
  registry: string,
  baseline: string,
  ratio: number,
  target: string,
  met: boolean | undefined,
  ratioText?: string,
) {
  rows.push({
    figure,
    registry,
    baseline,
    ratio: ratioText ?? `${ratio.toFixed(2)}x`,
    target,
    verdict: met === undefined ? 'n/a' : met ? 'yes' : 'NO',
  });
  console.error(`  ${figure}: ${registry} vs ${baseline}`);
}

const tempDir = () => mkdtemp(join(tmpdir(), 'xreg-bench-'));

async function started(store: Store, extra: Record<string, unknown> = {}): Promise<Reg> {
  const registry = createRegistry({ machines, store, ...extra });
  await registry.start();
  return registry;
}

const bareCreate = {
  run: (_: unknown, n: number) => {
    const map = new Map<string, AnyActor>();
    for (let i = 0; i < n; i++) map.set(`id-${i}`, createActor(counter, { id: `id-${i}` }).start());
    for (const a of map.values()) a.stop();
  },
};

const bareSend = {
  setup: () => createActor(counter).start(),
  run: (a: AnyActor, n: number) => {
    for (let i = 0; i < n; i++) a.send({ type: 'INC' });
  },
  teardown: (a: AnyActor) => void a.stop(),
};

/** `await registry.send` n times, then `flush()`, on a fresh registry over `makeStore()`. */
const registrySend = (makeStore: () => Promise<Store>) => ({
  setup: async () => {
    const r = await started(await makeStore());
    await r.spawnSingleton('counter', 'c');
    await r.flush();
    return r;
  },
  run: async (r: Reg, n: number) => {
    for (let i = 0; i < n; i++) await r.send('c', { type: 'INC' });
    await r.flush();
  },
  teardown: (r: Reg) => r.close(),
});

/** `await spawnSingleton` on n new IDs (then `flush()` if asked), on a fresh registry over `makeStore()`. */
const registryCreate = (makeStore: () => Store, flush: boolean) => ({
  setup: () => started(makeStore()),
  run: async (r: Reg, n: number) => {
    for (let i = 0; i < n; i++) await r.spawnSingleton('counter', `id-${i}`);
    if (flush) await r.flush();
  },
  teardown: (r: Reg) => r.close(),
});

// 1 and 2: creating singletons, and asking for one that is live.
async function creation() {
  const [bare, reg] = await compare(
    N,
    bareCreate,
    registryCreate(() => new MemoryStore(), false),
  );
  row(
    '1a. spawnSingleton, new IDs (memory store; the write follows)',
    fmtRate(reg.rate),
    fmtRate(bare.rate),
    reg.rate / bare.rate,
    '>= 0.8x',
    reg.rate / bare.rate >= 0.8,
  );
  const [bare2, withFlush] = await compare(
    N,
    bareCreate,
    registryCreate(() => new MemoryStore(), true),
  );
  row(
    '1b. the same, until every new instance is written',
    fmtRate(withFlush.rate),
    fmtRate(bare2.rate),
    withFlush.rate / bare2.rate,
    'report',
    undefined,
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
      setup: () => started(new MemoryStore()),
      run: async (r: Reg, n: number) => {
        for (let i = 0; i < n / 10; i++) await r.spawnSingleton('counter', `id-${i}`);
      },
      teardown: (r: Reg) => r.close(),
    },
    5,
  );
  const createRate = create.rate / 10;
  await registry.close();
  row(
    '2. spawnSingleton, live ID, vs creating one (1a)',
    fmtRate(live.rate),
    fmtRate(createRate),
    live.rate / createRate,
    '>= 20x',
    live.rate / createRate >= 20,
  );
}

// 3 and 4: events through hosted actors.
async function events() {
  for (const [label, makeStore, target] of [
    ['3. send, memory store (incl. flush)', async () => new MemoryStore(), 0.9],
    [
      '4. send, file store, relaxed (incl. flush)',
      async () => new FileStore({ dir: await tempDir() }),
      0.7,
    ],
  ] as const) {
    const [bare, reg] = await compare(N * 5, bareSend, registrySend(makeStore));
    row(
      label,
      fmtRate(reg.rate),
      fmtRate(bare.rate),
      reg.rate / bare.rate,
      `>= ${target}x`,
      reg.rate / bare.rate >= target,
    );
  }
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
      3,
    );
    const ratio = reg.rate / plain.rate;
    row(
      `5. strict send, ${actors} actor${actors > 1 ? 's' : ''}, vs write-fsync-rename loop`,
      fmtRate(reg.rate),
      fmtRate(plain.rate),
      ratio,
      actors === 1 ? 'report' : '> 1x',
      actors === 1 ? undefined : ratio > 1,
    );
  }
}

/** Writes STORED records (from one real record) straight to a file store's directory. */
async function storedDir(): Promise<{ dir: string }> {
  const seedStore = new MemoryStore();
  const seed = await started(seedStore);
  await seed.spawnSingleton('counter', 'template');
  await seed.send('template', { type: 'INC' });
  await seed.close();
  const template = JSON.parse(seedStore.peek('template') as string);
  const dir = await tempDir();
  await mkdir(join(dir, 'instances'), { recursive: true });
  for (let i = 0; i < STORED; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, STORED - i) }, (_, k) => {
        const id = `stored-${i + k}`;
        return writeFile(
          join(dir, 'instances', fileNameFor(id)),
          JSON.stringify({ ...template, id }),
        );
      }),
    );
  }
  return { dir };
}

// 6: start() over stored instances: restoring them all, and with passivation.
// Each measurement runs in a fresh process (bench/start-child.ts).
async function restore() {
  const { dir } = await storedDir();
  const child = (mode: string) =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'start-child.ts'), dir, mode],
        { encoding: 'utf8' },
      ),
    ) as { ms: number; heapPerInstance: number; hosted: number };
  const bare = child('bare');
  const full = child('registry');
  const passive = child('passive');
  const stored = STORED.toLocaleString('en-US');
  const r = full.ms / bare.ms;
  row(
    `6. start() restoring ${stored} stored instances (time)`,
    fmtMs(full.ms),
    fmtMs(bare.ms),
    r,
    '<= 3x slower',
    r <= 3,
    `${r.toFixed(2)}x slower`,
  );
  row(
    '6. heap after that start(), per instance',
    fmtBytes(full.heapPerInstance),
    fmtBytes(bare.heapPerInstance),
    full.heapPerInstance / bare.heapPerInstance,
    'report',
    undefined,
  );
  const p = passive.ms / bare.ms;
  row(
    `6p. the same start() with idle passivation (${passive.hosted} hosted)`,
    fmtMs(passive.ms),
    fmtMs(bare.ms),
    p,
    'report',
    undefined,
    `${p.toFixed(2)}x`,
  );
  row(
    '6p. heap after it, per stored instance',
    fmtBytes(passive.heapPerInstance),
    fmtBytes(bare.heapPerInstance),
    passive.heapPerInstance / bare.heapPerInstance,
    'grows with live, not stored',
    passive.heapPerInstance < bare.heapPerInstance / 4,
  );
  await rm(dir, { recursive: true, force: true });
}

// 7: heap per idle live actor.
async function heap() {
  const n = N;
  let before = heapUsed();
  const map = new Map<string, AnyActor>();
  for (let i = 0; i < n; i++) map.set(`id-${i}`, createActor(counter, { id: `id-${i}` }).start());
  const bare = (heapUsed() - before) / n;
  for (const a of map.values()) a.stop();
  map.clear();
  const registry = await started(new NullStore());
  before = heapUsed();
  for (let i = 0; i < n; i++) await registry.spawnSingleton('counter', `id-${i}`);
  await registry.flush();
  const reg = (heapUsed() - before) / n;
  await registry.close();
  row(
    '7. heap per idle live actor (registry: no store)',
    fmtBytes(reg),
    fmtBytes(bare),
    reg / bare,
    '<= +1,024 B',
    reg - bare <= 1024,
    `+${Math.round(reg - bare)} B`,
  );
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
  const grew = after - before;
  row(
    `soak: ${SOAK.toLocaleString('en-US')} actors spawned, driven, finished, purged`,
    `heap ${grew >= 0 ? '+' : ''}${fmtBytes(grew)} in ${fmtMs(ms)}`,
    `heap before ${fmtBytes(before)}`,
    grew / before,
    'back to start (< 2 MB)',
    grew < 2 * 1024 * 1024,
    `${((100 * grew) / before).toFixed(1)}%`,
  );
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
    const [bare, reg] = await compare(pgN, bareCreate, registryCreate(pgStore, true), 3);
    row(
      'pg-1. spawnSingleton, new IDs, PostgreSQL (claim + write, incl. flush)',
      fmtRate(reg.rate),
      fmtRate(bare.rate),
      reg.rate / bare.rate,
      'report',
      undefined,
    );
    const [bareRate, regSend] = await compare(
      N * 5,
      bareSend,
      registrySend(async () => pgStore()),
      3,
    );
    row(
      'pg-2. send, PostgreSQL, relaxed (incl. flush)',
      fmtRate(regSend.rate),
      fmtRate(bareRate.rate),
      regSend.rate / bareRate.rate,
      'report',
      undefined,
    );

    // Takeover: a worker process hosting an instance is killed; how long until another process hosts it?
    const table = `bench_takeover_${process.pid}`;
    const worker = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, '..', 'test', 'pg', 'worker.ts'),
        server.url,
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
      store: new PostgresStore({ connectionString: server.url, table, leaseMs: 1000 }),
      takeoverIntervalMs: 200,
    });
    await successor.start();
    const killedAt = performance.now();
    worker.kill('SIGKILL');
    while (!successor.get('victim')) await new Promise((r) => setTimeout(r, 5));
    const takeover = performance.now() - killedAt;
    await successor.close();
    row(
      'pg-3. takeover after SIGKILL of the owner (lease 1 s, sweep 0.2 s)',
      fmtMs(takeover),
      'lease + sweep = 1.2 s',
      takeover / 1200,
      '<= lease + sweep',
      takeover <= 1300,
      `${(takeover / 1200).toFixed(2)}x`,
    );
  } finally {
    stopPg(server);
  }
}

// 8: one page of list() at STORED instances, served from the index; the baseline is the full scan it replaced.
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
  row(
    `8. list({ limit: 1 }) at ${n.toLocaleString('en-US')} instances (per page)`,
    fmtMs(ms),
    fmtMs(scanMs),
    ms / scanMs,
    '< 1 ms',
    ms < 1,
  );
}

console.log(header());
console.log(
  `Counts: ${N.toLocaleString('en-US')} creations, ${(N * 5).toLocaleString('en-US')} events, ${STORED.toLocaleString('en-US')} stored instances, soak ${SOAK.toLocaleString('en-US')}${QUICK ? ' (BENCH_QUICK)' : ''}`,
);
await creation();
await events();
await encodingRows(N * 5, row);
await strict();
await restore();
await heap();
await list();
await soak();
await postgres();
console.log();
console.log(table(rows));
