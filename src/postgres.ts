// The `xstate-registry/postgres` entry point: only its users load `pg`.
export { PostgresStore, type PostgresStoreOptions } from './stores/postgres-store.js';
