import { MemoryStore } from '../src/index.js';
import { storeContract } from './store-contract.js';

storeContract('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, again: () => store };
});
