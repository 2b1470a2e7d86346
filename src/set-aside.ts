import { RegistryError } from './errors.js';
import type { RegistryEvents } from './registry-events.js';
import type { Store, StoreKey } from './stores/store.js';

type Emit = <K extends keyof RegistryEvents>(name: K, payload: RegistryEvents[K]) => void;

/**
 * The one failure policy of hydration (start, activation, adoption, takeover):
 * a stored record that cannot be decoded, migrated or restored is moved aside
 * with its reason and reported as `quarantined`, so it is never loaded in
 * place of a good one and never retried for ever. If even moving it fails, it
 * stays in place and a `QUARANTINE_FAILED` error says so. Resolves to whether
 * the record was moved.
 *
 * @example
 * ```ts
 * const moved = await setAside(store, emit, entry.key, id, error);
 * if (!moved) await store.release?.(id); // not held by a process that cannot host it
 * ```
 */
export async function setAside(
  store: Pick<Store, 'quarantine'>,
  emit: Emit,
  key: StoreKey,
  id: string | undefined,
  error: RegistryError,
): Promise<boolean> {
  try {
    await store.quarantine(key, `${error.code}: ${error.message}`);
  } catch (cause) {
    emit(
      'error',
      new RegistryError(
        'QUARANTINE_FAILED',
        `Stored entry '${key}' could not be loaded (${error.code}) nor moved aside; it stays where it is and is not loaded. Move it out of the store by hand.`,
        { cause, details: { key } },
      ),
    );
    return false;
  }
  emit('quarantined', { key, id, error });
  return true;
}
