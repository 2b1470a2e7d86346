/**
 * One stored entry as a store hands it to the registry at start: its store-specific
 * `key` (a file name, a row key) and either its text or why it could not be read.
 */
export interface StoredEntry {
  key: string;
  text?: string;
  error?: unknown;
}

/**
 * Where a registry keeps its instances. Deliberately small and dumb: stores move
 * opaque JSON text by instance ID; the registry alone parses, validates, migrates
 * and decides what to quarantine. The registry core never imports a concrete store.
 *
 * Contract (checked by `test/store-contract.ts` against every store):
 * - `open()` takes ownership; a second owner of the same storage fails with `STORE_LOCKED`.
 * - `write(id, text)` replaces the entry for `id` atomically: after a crash, a
 *   reader sees the old text or the new, never a mix. Once it resolves, the text
 *   survives a crash of the process.
 * - `load()` yields every entry written and not removed or quarantined.
 * - `read(id)` returns the text last written for `id` (`undefined` if none).
 * - `remove(id)` forgets the entry; `quarantine(key)` moves it aside without
 *   deleting it, so `load()` no longer yields it.
 * - Calls for one ID are issued one at a time by the registry; calls for
 *   different IDs may run concurrently.
 *
 * @example
 * ```ts
 * const registry = createRegistry({ machines, store: new FileStore({ dir: './data' }) });
 * ```
 */
export interface Store {
  open(): Promise<void>;
  load(): AsyncIterable<StoredEntry>;
  read(id: string): Promise<string | undefined>;
  write(id: string, text: string): Promise<void>;
  remove(id: string): Promise<void>;
  quarantine(key: string, reason: string): Promise<void>;
  close(): Promise<void>;
}
