import type { MachineMap } from '../machines.js';
import { createRegistry, type Registry, type RegistryOptions } from '../registry.js';
import { MemoryStore } from '../stores/memory-store.js';
import { type ManualClock, TestClock } from './test-clock.js';

export { encodeRecord, parseRecord, safeJsonParse } from '../record.js';
export { type FileHandleLike, type FsLayer, nodeFs } from '../stores/fs-layer.js';
export { type ManualClock, TestClock } from './test-clock.js';

/**
 * A started registry over an in-memory store, with a simulated clock and a restart.
 *
 * @example
 * ```ts
 * const registry: TestRegistry<typeof machines> = await createTestRegistry({ machines });
 * registry.clock.increment(60_000);
 * const again = await registry.restart();
 * ```
 */
export type TestRegistry<M extends MachineMap> = Registry<M> & {
  /**
   * Drives every timer of the registry: `clock.increment(ms)` fires what falls
   * due, each at its own due time. A {@link TestClock} unless you passed an XState `SimulatedClock`.
   */
  readonly clock: ManualClock;
  /** The store, shared by every registry `restart()` makes. */
  readonly store: MemoryStore;
  /**
   * Closes this registry (if it is not closed) and resolves to a new, started one
   * over the same store and clock, as after a process restart.
   */
  restart(): Promise<TestRegistry<M>>;
};

/**
 * The options of {@link createTestRegistry}: a registry's options but its clock and store, which are simulated.
 *
 * @example
 * ```ts
 * await createTestRegistry({ machines, startTime: Date.UTC(2026, 10, 27) });
 * ```
 */
export interface TestRegistryOptions<M extends MachineMap>
  extends Omit<RegistryOptions<M>, 'clock' | 'store'> {
  clock?: ManualClock;
  store?: MemoryStore;
  /** Where the simulated clock starts, epoch ms. Default 2026-01-01T00:00:00Z, so timestamps read as dates. */
  startTime?: number;
}

const DEFAULT_START = Date.UTC(2026, 0, 1);

/**
 * Creates and starts a registry for tests: in-memory store, simulated clock.
 *
 * @example
 * ```ts
 * import { createTestRegistry } from 'xstate-registry/testing';
 *
 * const registry = await createTestRegistry({ machines: { reminder } });
 * const actor = await registry.spawnSingleton('reminder', 'r1');
 * registry.clock.increment(60_000);           // the `after: { 60000: ... }` fires
 * const again = await registry.restart();     // as after a process restart
 * expect(again.get('r1')?.getSnapshot().value).toBe('sent');
 * ```
 */
export async function createTestRegistry<M extends MachineMap>(
  options: TestRegistryOptions<M>,
): Promise<TestRegistry<M>> {
  const { startTime, clock: givenClock, store: givenStore, ...rest } = options;
  const clock = givenClock ?? new TestClock(startTime ?? DEFAULT_START);
  const store = givenStore ?? new MemoryStore();
  const registry = createRegistry({ ...rest, clock, store } as RegistryOptions<M>);
  await registry.start();
  // `clock` needs no assignment: the registry's own `clock` getter returns this same clock.
  return Object.assign(registry, {
    store,
    async restart() {
      await registry.close();
      return createTestRegistry<M>({ ...options, clock, store });
    },
  }) as TestRegistry<M>;
}
