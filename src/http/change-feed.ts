import type { Registry } from '../registry.js';
import type { RegistryEventName } from '../registry-events.js';
import type { InstanceStatus } from '../status.js';

const WATCHED: RegistryEventName[] = [
  'spawned',
  'restored',
  'transition',
  'done',
  'failed',
  'stopped',
  'purged',
];
const BATCH_MS = 100;
/** The events after which an instance may have a new status (or none): it may leave a filter. */
const STATUS_EVENTS = new Set<RegistryEventName>([
  'spawned',
  'restored',
  'done',
  'failed',
  'stopped',
  'purged',
]);
/** Past this many changed IDs in one batch, subscribers are told to reload instead. */
const MAX_CHANGED = 10_000;

/**
 * One batch of changes (for example `{ statuses: Map { 'a' => status }, statusChanged: Set {}, overflow: false }`): each changed ID with its status now (`undefined` once
 * purged), or `overflow` when more changed than a batch carries.
 */
export interface ChangeBatch {
  statuses: Map<string, InstanceStatus | undefined>;
  /**
   * The IDs whose status (running, done...) may have changed, or that were
   * purged, each with the types it had in the batch (purged and created again
   * as another type: both): a stream filtered by type is told only of IDs it selected.
   */
  statusChanged: Map<string, Set<string>>;
  overflow: boolean;
}

/**
 * Batches a registry's changes for every event stream of one handler: every
 * 100 ms at most, it reads the status of each instance that changed, once,
 * and hands the same batch to every subscriber. So a tab costs one stream and
 * no request per change, and a hundred tabs cost the registry one status read
 * per change, not a hundred.
 *
 * @example
 * ```ts
 * const feed = new ChangeFeed(registry);
 * const stop = feed.subscribe((batch) => console.log(batch.statuses.size));
 * ```
 */
export class ChangeFeed {
  readonly #registry: Registry<any>;
  readonly #subscribers = new Set<(batch: ChangeBatch) => void>();
  #changed = new Set<string>();
  #statusChanged = new Map<string, Set<string>>();
  #overflow = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing = false;
  readonly #listeners = WATCHED.map((name) => ({
    name,
    fn: ({ id, type }: { id: string; type: string }) => {
      if (this.#changed.size < MAX_CHANGED) {
        this.#changed.add(id);
        if (STATUS_EVENTS.has(name)) {
          const types = this.#statusChanged.get(id);
          if (types) types.add(type);
          else this.#statusChanged.set(id, new Set([type]));
        }
      } else this.#overflow = true;
      this.#schedule();
    },
  }));

  constructor(registry: Registry<any>) {
    this.#registry = registry;
  }

  /** Calls `deliver` with every batch until the returned function is called. */
  subscribe(deliver: (batch: ChangeBatch) => void): () => void {
    if (this.#subscribers.size === 0)
      for (const { name, fn } of this.#listeners) this.#registry.on(name, fn as never);
    this.#subscribers.add(deliver);
    return () => {
      if (!this.#subscribers.delete(deliver) || this.#subscribers.size > 0) return;
      for (const { name, fn } of this.#listeners) this.#registry.off(name, fn as never);
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#changed.clear();
      this.#statusChanged.clear();
      this.#overflow = false;
    };
  }

  #schedule(): void {
    if (this.#flushing) return;
    this.#timer ??= setTimeout(() => void this.#flush(), BATCH_MS);
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    const ids = [...this.#changed];
    const overflow = this.#overflow;
    const statusChanged = this.#statusChanged;
    this.#changed = new Set();
    this.#statusChanged = new Map();
    this.#overflow = false;
    if (ids.length === 0 && !overflow) return;
    this.#flushing = true;
    try {
      const statuses = new Map<string, InstanceStatus | undefined>();
      if (!overflow) {
        const read = await Promise.all(
          ids.map((id) => this.#registry.getStatus(id).catch(() => undefined)),
        );
        ids.forEach((id, i) => {
          statuses.set(id, read[i]);
        });
      }
      for (const deliver of this.#subscribers) deliver({ statuses, statusChanged, overflow });
    } finally {
      this.#flushing = false;
      // Changes that arrived while reading wait for the next batch.
      if (this.#subscribers.size > 0 && (this.#changed.size > 0 || this.#overflow))
        this.#schedule();
    }
  }
}
