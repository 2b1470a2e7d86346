/**
 * `npm run bench`: measures xstate-registry against bare XState in the same run
 * and prints a table of rates and ratios. Run with --expose-gc (the npm script does).
 * Set BENCH_QUICK=1 for a fast smoke run with small counts. It measures the built
 * package (dist/), as users run it: `npm run bench` builds first.
 */
import { mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AnyActor, assign, createActor, setup } from 'xstate';
import { createRegistry, FileStore, MemoryStore, type Store } from '../dist/index.js';
import { fileNameFor } from '../dist/stores/file-name.js';
import {
  fmtBytes,
  fmtMs,
  fmtRate,
  header,
  heapUsed,
  measure,
  type Row,
  table,
  time,
} from './harness.js';

const QUICK = process.env.BENCH_QUICK === '1';
const N = QUICK ? 2_000 : 20_000;
const STORED = Number(process.env.BENCH_STORED ?? (QUICK ? 5_000 : 100_000));

const counter = setup({
  types: { context: {} as { count: number; owner: string } },
}).createMachine({
  id: 'counter',
  context: { count: 0, owner: 'someone@example.com' },
  initial: 'active',
  states: {
    active: {
      on: {
        INC: { actions: assign({ count: ({ context }) => context.count + 1 }) },
        FINISH: 'done',
      },
    },
    done: { type: 'final' },
  },
});
const machines = { counter };

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
  console.error(`  done: ${figure}`);
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'xreg-bench-'));
}

// 1 and 2: creating singletons, and asking for one that is live.
async function creation() {
  const bare = await measure(N, (n) => {
    const map = new Map<string, AnyActor>();
    for (let i = 0; i < n; i++) map.set(`id-${i}`, createActor(counter, { id: `id-${i}` }).start());
    for (const a of map.values()) a.stop();
  });
  const reg = await measure(N, async (n) => {
    const registry = createRegistry({ machines, store: new MemoryStore() });
    await registry.start();
    for (let i = 0; i < n; i++) await registry.spawnSingleton('counter', `id-${i}`);
    await registry.flush();
    await registry.close();
  });
  row(
    '1. spawnSingleton, new IDs (memory store, incl. flush)',
    fmtRate(reg.rate),
    fmtRate(bare.rate),
    reg.rate / bare.rate,
    '>= 0.8x',
    reg.rate / bare.rate >= 0.8,
  );

  const registry = createRegistry({ machines, store: new MemoryStore() });
  await registry.start();
  await registry.spawnSingleton('counter', 'live');
  const live = await measure(N * 10, async (n) => {
    for (let i = 0; i < n; i++) await registry.spawnSingleton('counter', 'live');
  });
  await registry.close();
  row(
    '2. spawnSingleton, live ID, vs creating (row 1)',
    fmtRate(live.rate),
    fmtRate(reg.rate),
    live.rate / reg.rate,
    '>= 20x',
    live.rate / reg.rate >= 20,
  );
}

// 3 and 4: events through hosted actors.
async function events() {
  const actor = createActor(counter).start();
  const bare = await measure(N * 5, (n) => {
    for (let i = 0; i < n; i++) actor.send({ type: 'INC' });
  });
  actor.stop();
  for (const [label, makeStore, target] of [
    ['3. send, memory store (incl. flush)', () => new MemoryStore(), 0.9],
    [
      '4. send, file store, relaxed (incl. flush)',
      async () => new FileStore({ dir: await tempDir() }),
      0.7,
    ],
  ] as const) {
    const store = await makeStore();
    const registry = createRegistry({ machines, store });
    await registry.start();
    await registry.spawnSingleton('counter', 'c');
    const reg = await measure(N * 5, async (n) => {
      for (let i = 0; i < n; i++) await registry.send('c', { type: 'INC' });
      await registry.flush();
    });
    await registry.close();
    if (store instanceof FileStore) await rm(store.dir, { recursive: true, force: true });
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
  const dir = await tempDir();
  const text = JSON.stringify({ count: 0, pad: 'x'.repeat(300) });
  const count = QUICK ? 100 : 1000;
  const plain = await measure(
    count,
    async (n) => {
      for (let i = 0; i < n; i++) {
        const tmp = join(dir, `plain.tmp`);
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
    3,
  );
  for (const actors of [1, 100]) {
    const store = new FileStore({ dir: await tempDir() });
    const registry = createRegistry({ machines, store, durability: 'strict' });
    await registry.start();
    const ids = Array.from({ length: actors }, (_, i) => `s${i}`);
    for (const id of ids) await registry.spawnSingleton('counter', id);
    const reg = await measure(
      count,
      async (n) => {
        const per = Math.ceil(n / actors);
        await Promise.all(
          ids.map(async (id) => {
            for (let i = 0; i < per; i++) await registry.send(id, { type: 'INC' });
          }),
        );
      },
      3,
    );
    await registry.close();
    await rm(store.dir, { recursive: true, force: true });
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
  await rm(dir, { recursive: true, force: true });
}

// 6: start() restoring stored instances, against bare XState restoring the same snapshots from memory.
async function restore() {
  const dir = await tempDir();
  const seedStore = new MemoryStore();
  const seed = createRegistry({ machines, store: seedStore });
  await seed.start();
  await seed.spawnSingleton('counter', 'template');
  await seed.send('template', { type: 'INC' });
  await seed.close();
  const template = JSON.parse(seedStore.peek('template') as string);
  await writeFile(join(dir, 'placeholder'), '');
  await rm(join(dir, 'placeholder'));
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'instances'), { recursive: true });
  const snapshots: unknown[] = [];
  for (let i = 0; i < STORED; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, STORED - i) }, (_, k) => {
        const id = `stored-${i + k}`;
        const record = { ...template, id };
        snapshots.push(structuredClone(record.snapshot));
        return writeFile(join(dir, 'instances', fileNameFor(id)), JSON.stringify(record));
      }),
    );
  }
  const bareMs = await time(() => {
    const map = new Map<number, AnyActor>();
    for (const [i, s] of snapshots.entries())
      map.set(i, createActor(counter, { snapshot: s as never }).start());
    for (const a of map.values()) a.stop();
  });
  let restored = 0;
  const regMs = await time(async () => {
    const registry = createRegistry({ machines, store: new FileStore({ dir }) });
    restored = (await registry.start()).restored;
    await registry.close();
  });
  if (restored !== STORED) throw new Error(`restored ${restored} of ${STORED}`);
  const ratio = regMs / bareMs;
  row(
    `6. start() restoring ${STORED.toLocaleString('en-US')} stored instances (time)`,
    fmtMs(regMs),
    fmtMs(bareMs),
    ratio,
    '<= 3x slower',
    ratio <= 3,
    `${ratio.toFixed(2)}x slower`,
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
  const registry = createRegistry({ machines, store: new NullStore() });
  await registry.start();
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

console.log(header());
console.log(
  `Counts: ${N.toLocaleString('en-US')} creations, ${(N * 5).toLocaleString('en-US')} events, ${STORED.toLocaleString('en-US')} stored instances${QUICK ? ' (BENCH_QUICK)' : ''}`,
);
await creation();
await events();
await strict();
await restore();
await heap();
console.log();
console.log(table(rows));
