/**
 * Restart equivalence: an actor hosted by the registry and restarted (persist,
 * new registry over the same store, restore) after every step behaves exactly
 * like the same machine in bare XState driven by the same steps, with no
 * restart at all: same state value, same context (deep-equal with Object.is, so
 * -0, NaN, undefined keys and holes count), same children, same pending timers.
 *
 * Machines are random: nested, parallel and history states, guards, `after`
 * delays, delayed raises carrying rich payloads, invoked and spawned registered
 * children (with timers of their own that talk back to the parent), and context
 * holding every value kind of the exact-state guarantee.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnyActorRef,
  type AnyStateMachine,
  assign,
  createActor,
  createMachine,
  raise,
  sendParent,
  setup,
  spawnChild,
  stopChild,
} from 'xstate';
import { MemoryStore } from '../src/index.js';
import { createTestRegistry, TestClock, type TestRegistry } from '../src/testing/index.js';
import { readTimers, trackTimers } from '../src/xstate-internals/scheduler.js';

const RUNS = Number(process.env.RESTART_EQUIVALENCE_RUNS ?? 2000);
// Generous for a loaded machine (a run takes about 5 ms alone), and grows with the runs asked for.
const timeout = RUNS * 50;
const START = Date.UTC(2026, 0, 1);

/** A value of each kind the exact-state guarantee covers, made from a number. */
const KINDS: Array<(n: number) => unknown> = [
  () => undefined,
  () => Number.NaN,
  (n) => (n % 2 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY),
  () => -0,
  (n) => new Date(START + n),
  (n) => new Map<unknown, unknown>([[n, { at: new Date(n), none: undefined }]]),
  (n) => new Set([n, `s${n}`]),
  (n) => BigInt(n) * 10_000_000_000_000_000n,
  (n) => new RegExp(`a${n}+`, 'gi'),
  (n) => new Uint8Array([n % 256, 0]),
  // biome-ignore lint/suspicious/noSparseArray: holes are a value kind
  (n) => [n, , undefined],
  (n) => {
    const shared = { n };
    return { a: shared, b: shared };
  },
  (n) => ({ plain: n, text: `t${n}`, list: [n, null, true] }),
];

interface StateSpec {
  kind: 'atomic' | 'compound' | 'parallel';
  children: StateSpec[];
  history: 'none' | 'shallow' | 'deep';
}

interface TransitionSpec {
  from: number;
  event: number;
  to: number;
  guard: number;
  kind: number;
  raise: { delay: number; event: number; kind: number } | null;
}

interface MachineSpec {
  root: StateSpec;
  transitions: TransitionSpec[];
  afters: Array<{ state: number; delay: number; to: number }>;
  invokeAt: number | null;
  spawnAt: number | null;
}

const DELAYS = [100, 250, 400, 1000];
/** Shorter than the shortest delay: a timer fired in one step arms none due in it. */
const GENERATION_MS = 50;
/** More pending timers than any machine of this size arms without multiplying them. */
const MAX_PENDING_TIMERS = 500;

const stateSpec: fc.Arbitrary<StateSpec> = fc.letrec<{ state: StateSpec }>((tie) => ({
  state: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant<StateSpec>({ kind: 'atomic', children: [], history: 'none' }),
    fc.record({
      kind: fc.constantFrom<'compound' | 'parallel'>('compound', 'parallel'),
      children: fc.array(tie('state'), { minLength: 2, maxLength: 3 }),
      history: fc.constantFrom<StateSpec['history']>('none', 'shallow', 'deep'),
    }),
  ),
})).state;

const machineSpec: fc.Arbitrary<MachineSpec> = fc.record({
  root: fc.record({
    kind: fc.constant<'compound'>('compound'),
    children: fc.array(stateSpec, { minLength: 2, maxLength: 3 }),
    history: fc.constant<'none'>('none'),
  }),
  transitions: fc.array(
    fc.record({
      from: fc.nat(),
      event: fc.nat(3),
      to: fc.nat(),
      guard: fc.nat(2),
      kind: fc.nat(KINDS.length - 1),
      raise: fc.option(
        fc.record({
          delay: fc.constantFrom(...DELAYS),
          event: fc.nat(3),
          kind: fc.nat(KINDS.length - 1),
        }),
      ),
    }),
    { minLength: 2, maxLength: 8 },
  ),
  afters: fc.array(
    fc.record({ state: fc.nat(), delay: fc.constantFrom(...DELAYS), to: fc.nat() }),
    { maxLength: 3 },
  ),
  invokeAt: fc.option(fc.nat()),
  spawnAt: fc.option(fc.nat()),
});

const steps: fc.Arbitrary<Array<{ send: number; kind: number } | { advance: number }>> = fc.array(
  fc.oneof(
    fc.record({ send: fc.nat(3), kind: fc.nat(KINDS.length - 1) }),
    fc.record({ advance: fc.constantFrom(50, 100, 250, 400, 1000) }),
  ),
  { minLength: 1, maxLength: 8 },
);

interface Ctx {
  n: number;
  vals: Record<string, unknown>;
  last: unknown;
}

/** A child with timers of its own that talks back to its parent. */
const ticker = createMachine({
  context: { count: 0, born: new Date(START) },
  initial: 'idle',
  states: {
    idle: { after: { 250: 'busy' } },
    busy: {
      entry: assign({ count: ({ context }) => context.count + 1 }),
      after: { 400: { target: 'idle', actions: sendParent({ type: 'E0', n: 7, kind: 4 }) } },
    },
  },
});

function buildMachine(spec: MachineSpec): AnyStateMachine {
  // Every state gets an ID `#sN`; the root's own children are numbered first.
  const ids: string[] = [];
  const configs: Array<Record<string, any>> = [];
  const build = (s: StateSpec): Record<string, any> => {
    const id = `s${ids.length}`;
    ids.push(id);
    const config: Record<string, any> = { id };
    configs.push(config);
    if (s.kind !== 'atomic') {
      config.type = s.kind;
      config.states = {};
      s.children.forEach((c, i) => {
        config.states[`c${i}`] = build(c);
      });
      if (s.kind === 'compound') {
        config.initial = 'c0';
        if (s.history !== 'none') {
          const hid = `h${ids.length}`;
          ids.push(hid);
          config.states.hist = { id: hid, type: 'history', history: s.history };
        }
      }
    }
    return config;
  };
  const states: Record<string, any> = {};
  spec.root.children.forEach((c, i) => {
    states[`c${i}`] = build(c);
  });
  const real = configs.filter((c) => c.type !== 'history');
  const at = (i: number) => real[i % real.length] as Record<string, any>;
  const target = (i: number) => `#${ids[i % ids.length]}`;

  for (const t of spec.transitions) {
    const from = at(t.from);
    from.on ??= {};
    const type = `E${t.event}`;
    const actions: unknown[] = [
      assign(({ context, event }: { context: Ctx; event: any }) => ({
        n: context.n + 1,
        vals: { ...context.vals, [`k${t.kind}`]: KINDS[t.kind]?.(context.n) },
        last: event.v,
      })),
    ];
    if (t.raise) {
      const r = t.raise;
      actions.push(
        raise(
          ({ context }: { context: Ctx }) => ({
            type: `E${r.event}`,
            n: context.n,
            v: KINDS[r.kind]?.(context.n),
          }),
          { delay: r.delay },
        ),
      );
    }
    const guard =
      t.guard === 0
        ? undefined
        : ({ context }: { context: Ctx }) => context.n % (t.guard + 1) === 0;
    from.on[type] ??= [];
    (from.on[type] as unknown[]).push({
      target: t.to % 3 === 0 ? undefined : target(t.to),
      guard,
      actions,
    });
  }
  for (const a of spec.afters) {
    const state = at(a.state);
    state.after ??= {};
    state.after[a.delay] ??= { target: target(a.to) };
  }
  if (spec.invokeAt !== null) at(spec.invokeAt).invoke = { id: 'kid', src: 'ticker' };
  if (spec.spawnAt !== null) {
    const s = at(spec.spawnAt);
    s.entry = [spawnChild('ticker', { id: 'spawned' })];
    s.exit = [stopChild('spawned')];
  }
  return setup({ actors: { ticker } }).createMachine({
    id: 'm',
    context: { n: 0, vals: { k0: undefined, date: new Date(START) }, last: null } as Ctx,
    initial: 'c0',
    states,
  } as any);
}

/**
 * Whether XState restores its own persisted snapshot of `bare` to the same state
 * value. It does not when a transition to a history state that resolves to its own
 * source (an empty exit set) races a transition of another parallel region: bare
 * XState then holds a configuration that is not valid, and no store can keep it.
 */
function restoresItself(machine: AnyStateMachine, bare: AnyActorRef): boolean {
  let restored: unknown;
  try {
    restored = createActor(machine, { snapshot: bare.getPersistedSnapshot() }).getSnapshot().value;
  } catch {
    return false;
  }
  return JSON.stringify(restored) === JSON.stringify(bare.getSnapshot().value);
}

/** Whether XState left a child running outside the tree (it does on some re-entries): no restart can keep such an orphan. */
function hasOrphans(root: AnyActorRef): boolean {
  const live = new Set<unknown>();
  const visit = (a: AnyActorRef) => {
    live.add(a);
    for (const c of Object.values(a.getSnapshot().children ?? {})) visit(c as AnyActorRef);
  };
  visit(root);
  const scheduled = (root.system as unknown as { _snapshot: { _scheduledEvents: object } })
    ._snapshot._scheduledEvents as Record<string, { source: unknown }>;
  return Object.values(scheduled).some((e) => !live.has(e.source));
}

const timersOf = (actor: AnyActorRef) =>
  readTimers(actor)
    .map(({ id: _id, ...t }) => t)
    .sort(
      (a, b) =>
        a.dueAt - b.dueAt ||
        a.event.type.localeCompare(b.event.type) ||
        a.source.join('/').localeCompare(b.source.join('/')),
    );

function view(actor: AnyActorRef): unknown {
  const s = actor.getSnapshot();
  const children: Record<string, unknown> = {};
  for (const [id, child] of Object.entries(s.children ?? {}) as Array<[string, AnyActorRef]>) {
    const cs = child.getSnapshot();
    children[id] = { value: cs.value, context: cs.context, status: cs.status };
  }
  return { status: s.status, value: s.value, context: s.context, children };
}

function event(step: { send: number; kind: number }, i: number) {
  return { type: `E${step.send}`, n: i, v: KINDS[step.kind]?.(i) };
}

describe('restart equivalence with bare XState', () => {
  it(`holds over ${RUNS} random machines, restarted after every step`, { timeout }, async () => {
    let checked = 0;
    let orphaned = 0;
    let unrestorable = 0;
    let runaway = 0;
    await fc.assert(
      fc.asyncProperty(machineSpec, steps, async (spec, plan) => {
        let machine: AnyStateMachine;
        try {
          machine = buildMachine(spec);
        } catch {
          return; // a configuration XState itself refuses
        }
        const bareClock = new TestClock(START);
        const bare = createActor(machine, { clock: bareClock });
        trackTimers(bare, bareClock);
        bare.start();

        const store = new MemoryStore();
        const clock = new TestClock(START);
        const errors: unknown[] = [];
        let r: TestRegistry<any> = await createTestRegistry({
          machines: { m: machine },
          store,
          clock,
        });
        r.on('error', (e) => errors.push(e));
        try {
          await r.spawnSingleton('m', 'x');
          const compare = () => {
            const hosted = r.get('x');
            if (hasOrphans(bare)) {
              orphaned++;
              return false;
            }
            if (!restoresItself(machine, bare)) {
              unrestorable++;
              return false;
            }
            if (bare.getSnapshot().status !== 'active') {
              expect(hosted?.getSnapshot().status ?? 'gone').not.toBe('active');
              return false;
            }
            expect(hosted).toBeDefined();
            expect(view(hosted as AnyActorRef)).toStrictEqual(view(bare));
            expect(timersOf(hosted as AnyActorRef)).toStrictEqual(timersOf(bare));
            return true;
          };
          if (!compare()) return;
          for (const [i, step] of plan.entries()) {
            if ('send' in step) {
              bare.send(event(step, i));
              r.get('x')?.send(event(step, i));
            } else {
              // A machine whose delayed raises multiply (each firing arms several
              // more) grows its timers geometrically, and TestClock looks at every
              // pending timer for each one it fires: one such advance of the bare
              // actor ran for over 15 minutes on CI (29,000 timers pending, 300 ms
              // of its 500 advanced). Bare time moves in steps shorter than the
              // shortest delay, one generation each, and such machines are skipped.
              for (let done = 0; done < step.advance; done += GENERATION_MS) {
                bareClock.increment(Math.min(GENERATION_MS, step.advance - done));
                if (bareClock.pending > MAX_PENDING_TIMERS) {
                  runaway++;
                  return;
                }
              }
              clock.increment(step.advance);
            }
            await r.close();
            r = await createTestRegistry({ machines: { m: machine }, store, clock });
            r.on('error', (e) => errors.push(e));
            expect(store.quarantined.size).toBe(0);
            if (!compare()) return;
          }
          expect(errors).toEqual([]);
          checked++;
          if (process.env.RESTART_EQUIVALENCE_STATS && plan.length === 8)
            console.log({ checked, orphaned, runaway });
        } finally {
          bare.stop();
          await r.close();
        }
      }),
      {
        numRuns: RUNS,
        // Replays a failure: RESTART_EQUIVALENCE_SEED=<seed> RESTART_EQUIVALENCE_PATH=<path>.
        ...(process.env.RESTART_EQUIVALENCE_SEED
          ? {
              seed: Number(process.env.RESTART_EQUIVALENCE_SEED),
              path: process.env.RESTART_EQUIVALENCE_PATH,
            }
          : {}),
      },
    );
    // Most generated machines are valid and run to the end: the property was not vacuous.
    if (!process.env.RESTART_EQUIVALENCE_SEED) {
      expect(checked).toBeGreaterThan(RUNS / 2);
      // Runs where XState orphaned a child, or reached a configuration its own
      // persisted snapshot does not restore, are skipped; they must stay rare.
      expect(orphaned + unrestorable + runaway).toBeLessThan(RUNS / 10);
    }
  });
});
