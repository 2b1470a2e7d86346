export { ActorHandle, type HandleObserver, type HandleSubscription } from './actor-handle.js';
export { type Clock, systemClock } from './clock.js';
export {
  type ErrorDetailsOf,
  isRegistryError,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorDetails,
  type SerializedError,
  serializeError,
  type WriteFailureDetails,
} from './errors.js';
export type {
  HistoryEntry,
  HistoryOptions,
  HistoryPage,
  HistorySource,
} from './history.js';
export type { IdempotencyEntry, IdempotencyOptions } from './idempotency.js';
export { assertInstanceId, isValidInstanceId, MAX_INSTANCE_ID_LENGTH } from './instance-id.js';
export type { CountFilter } from './instance-index.js';
export type { ListFilter, ListOrder, ListPage, TimeInput } from './list-query.js';
export type {
  MachineDefinition,
  MachineMap,
  MachineOf,
  SnapshotMigration,
  VersionedMachine,
} from './machines.js';
export type { PersistedTimer } from './persisted-timer.js';
export { type InstanceRecord, type InstanceStatusName, RECORD_FORMAT } from './record.js';
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
export type { ChildStatus, TimerStatus } from './status-detail.js';
export type { StatusCounts } from './status-tally.js';
export {
  type ClaimResult,
  type ClusterStore,
  isClusterStore,
  type StoredPage,
  type StoreQuery,
} from './stores/cluster-store.js';
export { FileStore, type FileStoreOptions } from './stores/file-store.js';
export { MemoryStore } from './stores/memory-store.js';
export {
  idInText,
  type RecordMeta,
  type SetAsidePage,
  type SetAsideQuery,
  type SetAsideRecord,
  type Store,
  type StoredEntry,
  type StoreKey,
  storeKey,
  unknownSetAside,
} from './stores/store.js';
export type { TelemetryOptions } from './telemetry-options.js';
export type { InternalEvent, TypedRegistryEvents } from './typed-events.js';
export type {
  ActorOf,
  CreateArgs,
  EventOf,
  InputOf,
  InputOption,
  JsonCopy,
  MachineFor,
  OutputOf,
  SnapshotOf,
  StatusOf,
  TypeName,
  TypeOption,
} from './types.js';
