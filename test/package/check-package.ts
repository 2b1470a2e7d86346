/**
 * The package as a user gets it: packs the repository (`prepack` builds), checks
 * what the tarball holds, installs it from the file into a fresh project outside
 * the repository together with xstate, pg, @types/pg and TypeScript from the
 * registry, type-checks one consumer (consumer/main.ts) as ESM with NodeNext, ESM
 * with bundler resolution, CommonJS with NodeNext and CommonJS with legacy `node`
 * resolution, and runs the ESM, CommonJS and legacy builds against a real,
 * throwaway PostgreSQL server when one is installed (always in CI). Each build
 * also imports `xstate-registry/store-contract` and runs the shipped contract
 * against the installed MemoryStore.
 *
 * Run with `npm run test:package`; `.ci/run` runs it too. Exits non-zero on the
 * first failure. `KEEP=1` keeps the temporary project for inspection.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findPgBin, type PgServer, startPg, stopPg } from '../pg/server.js';

const exec = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
// The repository's own TypeScript (v7) checks every modern setup. CommonJS is
// also checked with TypeScript 5.8, the first to type `require` of an ES module
// (5.7 reports TS1479), and the newest 5.x, which also checks the legacy `node`
// resolution that TypeScript 7 no longer has.
const tsRepo: string = JSON.parse(
  readFileSync(join(repo, 'node_modules', 'typescript', 'package.json'), 'utf8'),
).version;
const TS58 = '5.8';
const TS5 = '5';
/** TypeScript versions installed beside the project's own, each in <tmp>/ts<version>. */
const extraTs = [TS58, TS5];

let checks = 0;
function ok(what: string): void {
  checks++;
  console.log(`  ok  ${what}`);
}
function fail(what: string): never {
  throw new Error(`package check failed: ${what}`);
}

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  try {
    const { stdout } = await exec(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    fail(`${cmd} ${args.join(' ')} (in ${cwd})\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** Checks the tarball's file list against package.json: everything it points to ships, nothing else does. */
function checkFileList(files: string[]): void {
  const shipped = new Set(files);
  for (const f of files) {
    if (!/^(dist\/.+\.(js|d\.ts|js\.map)|package\.json|README\.md|LICENSE)$/.test(f))
      fail(`unexpected file in the tarball: ${f}`);
  }
  const targets = ['LICENSE', 'README.md', pkg.main, pkg.types];
  for (const entry of Object.values(pkg.exports) as Array<string | Record<string, string>>)
    targets.push(...(typeof entry === 'string' ? [entry] : Object.values(entry)));
  for (const paths of Object.values(pkg.typesVersions?.['*'] ?? {}) as string[][])
    targets.push(...paths);
  for (const t of targets) {
    const path = t.replace(/^\.\//, '');
    if (!shipped.has(path)) fail(`package.json points to ${path}, which the tarball lacks`);
  }
  ok(`tarball: ${files.length} files, all under dist/ but package.json, README.md, LICENSE`);
  ok(`tarball: every exports, types and typesVersions target ships (${targets.length})`);
}

/** Every shipped source map must carry the TypeScript it maps to: src/ does not ship. */
function checkSourceMaps(dist: string): void {
  const maps = (readdirSync(dist, { recursive: true }) as string[]).filter((f) =>
    f.endsWith('.map'),
  );
  for (const file of maps) {
    const map = JSON.parse(readFileSync(join(dist, file), 'utf8'));
    const content: unknown[] = map.sourcesContent ?? [];
    if (content.length !== map.sources.length || !content.every((c) => typeof c === 'string'))
      fail(`${file} maps to ${map.sources.join(', ')} without carrying their sources`);
  }
  if (maps.length === 0) fail('no source maps shipped');
  ok(`source maps: all ${maps.length} carry their sources`);
}

interface Variant {
  dir: string;
  type: 'module' | 'commonjs';
  compilerOptions: Record<string, unknown>;
  /** Which TypeScript versions type-check it; the first one also emits it, if it runs. */
  tsc: string[];
  runs: boolean;
}

const variants: Variant[] = [
  {
    dir: 'esm-nodenext',
    type: 'module',
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' },
    tsc: [tsRepo],
    runs: true,
  },
  {
    dir: 'esm-bundler',
    type: 'module',
    compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler' },
    tsc: [tsRepo],
    runs: false,
  },
  {
    dir: 'cjs-nodenext',
    type: 'commonjs',
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' },
    tsc: [tsRepo, TS58, TS5],
    runs: true,
  },
  {
    dir: 'cjs-legacy-node',
    type: 'commonjs',
    // esModuleInterop (as `tsc --init` sets it): the declarations default-import `pg`.
    compilerOptions: { module: 'CommonJS', moduleResolution: 'Node', esModuleInterop: true },
    tsc: [TS5],
    runs: true,
  },
];

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'xreg-package-'));
  let pgServer: PgServer | undefined;
  try {
    console.log(`packing ${pkg.name} into ${tmp}`);
    const packed = JSON.parse(
      await run('npm', ['pack', '--json', '--pack-destination', tmp], repo),
    ) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = join(tmp, packed[0]?.filename ?? fail('npm pack printed no tarball'));
    checkFileList(packed[0]?.files.map((f) => f.path) ?? []);

    const project = join(tmp, 'consumer');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'xreg-consumer', version: '0.0.0', private: true }),
    );
    const install = ['install', '--no-audit', '--no-fund', '--loglevel=error'];
    console.log(
      `installing the tarball, xstate, pg, typescript@${tsRepo} (and @${extraTs.join(', @')})`,
    );
    await Promise.all([
      run(
        'npm',
        [
          ...install,
          tarball,
          `xstate@${pkg.peerDependencies.xstate}`,
          `pg@${pkg.peerDependencies.pg}`,
          '@types/pg',
          `@types/node@${pkg.devDependencies['@types/node']}`,
          `typescript@${tsRepo}`,
        ],
        project,
      ),
      ...extraTs.map((ts) =>
        run('npm', [...install, '--prefix', join(tmp, `ts${ts}`), `typescript@${ts}`], tmp),
      ),
    ]);
    const versions = JSON.parse(await run('npm', ['ls', '--all', '--json'], project));
    const installed = versions.dependencies;
    if (existsSync(join(project, 'node_modules', pkg.name, 'node_modules', 'xstate')))
      fail('the package brought its own copy of xstate');
    ok(
      `installed: xstate ${installed.xstate.version} (one copy, the app's), pg ${installed.pg.version}`,
    );
    checkSourceMaps(join(project, 'node_modules', pkg.name, 'dist'));

    // The package's bin, as a user runs it: over an (empty) registry data directory.
    mkdirSync(join(project, 'data', 'instances'), { recursive: true });
    const listed = await run(
      'npx',
      ['--no-install', 'xstate-registry', '--store', 'data', 'ls', '--json'],
      project,
    );
    if (listed.trim() !== '')
      fail(`npx xstate-registry ls printed ${JSON.stringify(listed)} for an empty store`);
    ok('bin: npx xstate-registry --store data ls runs from the installed tarball');

    const tsDir = (ts: string) =>
      join(extraTs.includes(ts) ? join(tmp, `ts${ts}`) : project, 'node_modules', 'typescript');
    const tsVersion = (ts: string): string =>
      JSON.parse(readFileSync(join(tsDir(ts), 'package.json'), 'utf8')).version;

    const bin = findPgBin();
    if (bin) pgServer = await startPg(bin);
    else if (process.env.CI)
      fail('CI must provide PostgreSQL; none found under /usr/lib/postgresql');
    else console.log('  (no PostgreSQL server installed: the programs only construct the store)');

    for (const v of variants) {
      const dir = join(project, v.dir);
      mkdirSync(dir);
      cpSync(join(here, 'consumer', 'main.ts'), join(dir, 'main.ts'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: v.type }));
      const compilerOptions = {
        target: 'ES2022',
        lib: ['ES2023'],
        types: ['node'],
        strict: true,
        skipLibCheck: false,
        outDir: 'out',
        rootDir: '.',
        ...v.compilerOptions,
      };
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({ compilerOptions, files: ['main.ts'] }),
      );
      for (const [i, ts] of v.tsc.entries()) {
        const emit = v.runs && i === 0;
        await run(
          process.execPath,
          [join(tsDir(ts), 'bin', 'tsc'), '-p', '.', ...(emit ? [] : ['--noEmit'])],
          dir,
        );
        ok(`${v.dir}: type-checks with TypeScript ${tsVersion(ts)}`);
      }
      if (!v.runs) continue;
      const js = readFileSync(join(dir, 'out', 'main.js'), 'utf8');
      const loads =
        v.type === 'commonjs'
          ? /require\(["']xstate-registry["']\)/
          : /from ["']xstate-registry["']/;
      if (!loads.test(js))
        fail(`${v.dir}: the emitted code does not load the package as ${v.type}`);
      const loadsContract =
        v.type === 'commonjs'
          ? /require\(["']xstate-registry\/store-contract["']\)/
          : /from ["']xstate-registry\/store-contract["']/;
      if (!loadsContract.test(js))
        fail(
          `${v.dir}: the emitted code does not load xstate-registry/store-contract as ${v.type}`,
        );
      const env: Record<string, string> = { XREG_TABLE: `xreg_${v.dir.replace(/-/g, '_')}` };
      if (pgServer) env.DATABASE_URL = pgServer.url;
      const out = await run(process.execPath, ['out/main.js'], dir, env);
      const expected = `consumer ok: ${v.type === 'commonjs' ? 'commonjs' : 'esm'}`;
      if (!out.includes(expected)) fail(`${v.dir}: expected "${expected}", got:\n${out}`);
      if (!out.includes('store contract passed'))
        fail(`${v.dir}: the store contract did not run on the installed MemoryStore:\n${out}`);
      ok(`${v.dir}: runs on Node ${process.version}: ${out.trim().replace(/^consumer ok: /, '')}`);
    }
    console.log(`package check: ${checks} checks passed (${packed[0]?.filename})`);
  } finally {
    if (pgServer) stopPg(pgServer);
    if (process.env.KEEP) console.log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
