export { type Clock, systemClock } from './clock.js';
export {
  isRegistryError,
  RegistryError,
  type RegistryErrorCode,
  type SerializedError,
  serializeError,
} from './errors.js';
export type { IdempotencyEntry, IdempotencyOptions } from './idempotency.js';
export { assertInstanceId, isValidInstanceId, MAX_INSTANCE_ID_LENGTH } from './instance-id.js';
export type { ListFilter, ListPage, TimeInput } from './list-query.js';
export type {
  MachineDefinition,
  MachineMap,
  MachineOf,
  SnapshotMigration,
  VersionedMachine,
} from './machines.js';
export {
  encodeRecord,
  type InstanceRecord,
  type InstanceStatusName,
  parseRecord,
  RECORD_FORMAT,
  safeJsonParse,
} from './record.js';
export {
  createRegistry,
  type Durability,
  Registry,
  type RegistryOptions,
  type SendOptions,
  type SingletonResult,
  type SpawnSingletonOptions,
  type WaitCondition,
} from './registry.js';
export type { RegistryEventName, RegistryEvents } from './registry-events.js';
export type { QuarantinedRecord, StartSummary } from './restore.js';
export type { InstanceStatus } from './status.js';
export { acquireDirLock, type DirLock } from './stores/file-lock.js';
export { FileStore, type FileStoreOptions } from './stores/file-store.js';
export type { FileHandleLike, FsLayer } from './stores/fs-layer.js';
export { nodeFs } from './stores/fs-layer.js';
export { MemoryStore } from './stores/memory-store.js';
export {
  type ClaimResult,
  type ClusterStore,
  isClusterStore,
  type RecordMeta,
  type Store,
  type StoredEntry,
  type StoredPage,
  type StoreKey,
  type StoreQuery,
  storeKey,
} from './stores/store.js';
export type { PersistedTimer } from './xstate-internals.js';
