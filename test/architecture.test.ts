import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ActorHost } from '../src/actor-host.js';
import type { ClusterDeps } from '../src/cluster.js';
import type { Instance } from '../src/instance.js';
import type { InstanceTable } from '../src/instance-table.js';
import type { PassivationDeps } from '../src/passivation.js';
import type { PersisterOptions } from '../src/persister.js';
import type { RegistryParts } from '../src/registry-parts.js';
import type { RestoreContext } from '../src/restore.js';
import type { watchInstance } from '../src/wait-for.js';

// The import graph of src/, read from the sources themselves: every static
// import and re-export (type-only ones too: a type cycle is a design cycle) and
// every dynamic import().
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The module specifiers a file imports. */
function specifiersOf(text: string): string[] {
  // Comments may quote imports in examples: they are not imports.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  const patterns = [
    /(?:^|[;\n])\s*(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) if (match[1]) found.push(match[1]);
  }
  return found;
}

const files = sourceFiles(src).map((path) => relative(src, path).split('\\').join('/'));
const text = new Map(files.map((f) => [f, readFileSync(join(src, f), 'utf8')]));

/** file → the src files it imports (relative specifiers resolved, `.js` → `.ts`). */
const graph = new Map<string, { local: string[]; external: string[] }>();
for (const file of files) {
  const local: string[] = [];
  const external: string[] = [];
  for (const spec of specifiersOf(text.get(file) ?? '')) {
    if (!spec.startsWith('.')) {
      external.push(spec);
      continue;
    }
    const target = join(dirname(file), spec).split('\\').join('/').replace(/\.js$/, '.ts');
    local.push(target);
  }
  graph.set(file, { local, external });
}

/** Every import cycle, each as the list of files around it (Tarjan's strongly connected components). */
function cycles(): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.local ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, indices.get(w) as number));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = graph.get(v)?.local.includes(v);
      if (component.length > 1 || selfLoop) found.push(component.sort());
    }
  };
  for (const file of files) if (!indices.has(file)) visit(file);
  return found;
}

/** The package's entry points: they assemble the public surface, so they may re-export anything. */
const ENTRY_POINTS = new Set(['index.ts', 'postgres.ts', 'testing/index.ts', 'store-contract.ts']);
/** The command-line tool sits on top of everything, like an entry point: it opens concrete stores. */
const isCore = (f: string) =>
  !f.startsWith('stores/') &&
  !f.startsWith('http/') &&
  !f.startsWith('cli/') &&
  !ENTRY_POINTS.has(f);
/** The store interface, which the core programs against; every other file there is a concrete store. */
const STORE_INTERFACE = new Set([
  'stores/store.ts',
  'stores/cluster-store.ts',
  'stores/cluster-inbox.ts',
]);
/**
 * The in-memory store is the registry's default store: no I/O, nothing to
 * configure. It is the one concrete store the core may name.
 */
const DEFAULT_STORE = 'stores/memory-store.ts';
const IO_MODULES = /^(node:)?(fs|fs\/promises)$|^pg$|^pg\//;

/** The keys of `T` whose values are functions: callbacks a module is handed. */
type CallbackKeys<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends (...args: any[]) => unknown ? K : never;
}[keyof T];

describe('architecture', () => {
  it('reads the import graph (sanity: the parser sees the imports it must see)', () => {
    expect(files.length).toBeGreaterThan(20);
    expect(graph.get('registry-assembly.ts')?.local).toContain('persister.ts');
    expect(graph.get('stores/postgres-store.ts')?.external).toContain('pg');
    expect(specifiersOf('import type { A } from \'./a.js\';\nexport { b } from "./b.js";')).toEqual(
      ['./a.js', './b.js'],
    );
    expect(
      specifiersOf("// import { x } from './commented.js'\nconst m = import('./lazy.js');"),
    ).toEqual(['./lazy.js']);
  });

  it('every import names a file that exists', () => {
    const missing = [...graph].flatMap(([file, { local }]) =>
      local.filter((t) => !graph.has(t)).map((t) => `${file} → ${t}`),
    );
    expect(missing).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles()).toEqual([]);
  });

  it('the core imports no fs or pg, no concrete store and nothing from the HTTP layer', () => {
    const violations: string[] = [];
    for (const [file, { local, external }] of graph) {
      if (!isCore(file)) continue;
      for (const spec of external) if (IO_MODULES.test(spec)) violations.push(`${file} → ${spec}`);
      for (const target of local) {
        if (target.startsWith('http/')) violations.push(`${file} → ${target}`);
        if (
          target.startsWith('stores/') &&
          !STORE_INTERFACE.has(target) &&
          target !== DEFAULT_STORE
        )
          violations.push(`${file} → ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the stores never import the registry core above them, nor the HTTP layer', () => {
    const allowed = new Set(['errors.ts', 'record.ts', 'clock.ts', 'instance-id.ts', 'codec.ts']);
    const violations: string[] = [];
    for (const [file, { local }] of graph) {
      if (!file.startsWith('stores/')) continue;
      for (const target of local) {
        if (target.startsWith('stores/')) continue;
        if (!allowed.has(target)) violations.push(`${file} → ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('only the instance table moves an instance through its life', () => {
    const movers = files.filter(
      (f) =>
        f !== 'lifecycle.ts' &&
        f !== 'instance-table.ts' &&
        /\bmoveTo\(|\.life\s*=[^=]|\bInstanceIndex\b/.test(text.get(f) ?? ''),
    );
    // instance-index.ts defines the table's private list index; instance.ts declares `life`.
    expect(movers.filter((f) => f !== 'instance-index.ts' && f !== 'instance.ts')).toEqual([]);
  });

  it('XState internals are touched only in xstate-internals.ts', () => {
    const violations = files.filter(
      (f) =>
        f !== 'xstate-internals.ts' &&
        /xstate\/(dist|src)|\b_relay\b|\b_processingStatus\b|_sendInspectionEvent/.test(
          text.get(f) ?? '',
        ),
    );
    expect(violations).toEqual([]);
  });

  // A callback handed down is an import pointing up: the lower module calls into
  // the one above it. The modules below the facade are handed the modules they
  // use as objects (the gate for per-ID locks, the instance table for changes)
  // and publish what they have to say as events of their own (persister.onFailed,
  // store.onDamaged); tsc checks this test (npm run typecheck).
  it('modules below the facade are handed no callbacks (checked by the type checker)', () => {
    expectTypeOf<CallbackKeys<RegistryParts>>().toEqualTypeOf<never>();
    expectTypeOf<CallbackKeys<PassivationDeps>>().toEqualTypeOf<never>();
    expectTypeOf<CallbackKeys<ClusterDeps>>().toEqualTypeOf<never>();
    expectTypeOf<CallbackKeys<PersisterOptions>>().toEqualTypeOf<never>();
    expectTypeOf<CallbackKeys<RestoreContext>>().toEqualTypeOf<never>();
    expectTypeOf<CallbackKeys<Parameters<typeof watchInstance>[2]>>().toEqualTypeOf<never>();
    expectTypeOf<
      CallbackKeys<ConstructorParameters<typeof InstanceTable>[0]>
    >().toEqualTypeOf<never>();
    // `logger` is the user's own XState logger, passed through to every actor: it calls nothing of ours.
    expectTypeOf<
      CallbackKeys<ConstructorParameters<typeof ActorHost>[0]>
    >().toEqualTypeOf<'logger'>();
  });

  it("only the instance table writes an instance's life flags", () => {
    const writers = files.filter(
      (f) =>
        f !== 'instance-table.ts' &&
        f !== 'instance.ts' &&
        /\.writeLife\(|(?<!Object)\.freeze\(/.test(text.get(f) ?? ''),
    );
    expect(writers).toEqual([]);
  });

  it('life flags cannot be assigned directly (checked by the type checker)', () => {
    // Never called: tsc fails on this file if a life flag becomes writable (npm run typecheck).
    const directWrites = (instance: Instance) => {
      // @ts-expect-error written only through the instance table's transitions
      instance.status = 'done';
      // @ts-expect-error
      instance.frozen = undefined;
      // @ts-expect-error
      instance.detaching = true;
      // @ts-expect-error
      instance.starting = true;
      // @ts-expect-error
      instance.stopReason = 'x';
      // @ts-expect-error
      instance.error = undefined;
    };
    expect(typeof directWrites).toBe('function');
  });
});
