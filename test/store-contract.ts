import { describe, expect, it } from 'vitest';
import { type ContractStores, storeContract as contract } from '../src/store-contract.js';

/** The shipped store contract (`xstate-registry/store-contract`), run with vitest. */
export function storeContract(name: string, make: () => Promise<ContractStores>): void {
  contract(name, make, { describe, it, expect });
}
