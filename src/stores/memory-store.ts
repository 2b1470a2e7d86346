import { RegistryError } from '../errors.js';
import {
  recordedAgain,
  type SetAsidePage,
  SetAsidePicker,
  type SetAsideQuery,
  type Store,
  type StoredEntry,
  type StoreKey,
  setAsideRecord,
  storeKey,
  unknownSetAside,
} from './store.js';

/**
 * A store in process memory: the default, and what `createTestRegistry` uses.
 * It keeps JSON text rather than objects so that a registry restarted over it
 * sees exactly what a real store would give back (and nothing shared by reference).
 * One registry at a time may own it, like a real store.
 *
 * @example
 * ```ts
 * const store = new MemoryStore();
 * const a = createRegistry({ machines, store });
 * await a.start();
 * // ... later, as after a restart:
 * await a.close();
 * const b = createRegistry({ machines, store });
 * await b.start(); // resumes what `a` had
 * ```
 */
export class MemoryStore implements Store {
  readonly #entries = new Map<string, string>();
  readonly #quarantined = new Map<string, { text: string; reason: string; at?: number }>();
  #open = false;

  async open(): Promise<void> {
    if (this.#open) {
      throw new RegistryError(
        'STORE_LOCKED',
        'This MemoryStore is already owned by a running registry; close that registry first.',
      );
    }
    this.#open = true;
  }

  async *load(): AsyncIterable<StoredEntry> {
    for (const [key, text] of [...this.#entries])
      yield { kind: 'record', key: storeKey(key), text };
  }

  /** Entries are kept under their ID: any other key holding a record is a stray. */
  keyOf(id: string): StoreKey {
    return storeKey(id);
  }

  async read(id: string): Promise<string | undefined> {
    this.#assertOpen();
    return this.#entries.get(id);
  }

  async write(id: string, text: string): Promise<void> {
    this.#assertOpen();
    this.#entries.set(id, text);
  }

  async remove(id: string): Promise<void> {
    this.#assertOpen();
    this.#entries.delete(id);
  }

  async quarantine(key: string, reason: string): Promise<void> {
    const text = this.#entries.get(key);
    if (text === undefined) return;
    this.#entries.delete(key);
    this.#quarantined.set(key, { text, reason, at: Date.now() });
  }

  async listSetAside(query?: SetAsideQuery): Promise<SetAsidePage> {
    const pick = new SetAsidePicker<string>(query);
    for (const [key, { at }] of this.#quarantined) pick.offer({ at: at ?? 0, key }, key);
    const { chosen, cursor } = pick.page();
    const items = chosen.map((key) => {
      const { text, reason, at } = this.#quarantined.get(key) as {
        text: string;
        reason: string;
        at?: number;
      };
      return setAsideRecord(key, text, reason, at ?? 0);
    });
    return { items, cursor };
  }

  async restoreSetAside(key: string): Promise<void> {
    this.#assertOpen();
    const entry = this.#quarantined.get(key);
    if (!entry) throw unknownSetAside(key);
    if (this.#entries.has(key)) throw recordedAgain(key);
    this.#entries.set(key, entry.text);
    this.#quarantined.delete(key);
  }

  async close(): Promise<void> {
    this.#open = false;
  }

  /** The stored text of `id`, for tests and tools. */
  peek(id: string): string | undefined {
    return this.#entries.get(id);
  }

  /** How many entries are stored. */
  get size(): number {
    return this.#entries.size;
  }

  /** Entries moved aside by `quarantine`, with the reason. */
  get quarantined(): ReadonlyMap<string, { text: string; reason: string }> {
    return this.#quarantined;
  }

  /** Puts raw text in the store as if written by someone else (tests of bad records). */
  inject(key: string, text: string): void {
    this.#entries.set(key, text);
  }

  #assertOpen(): void {
    if (!this.#open)
      throw new RegistryError(
        'STORE_CLOSED',
        'This MemoryStore is not open; start a registry over it first.',
      );
  }
}
