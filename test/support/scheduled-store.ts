import type fc from 'fast-check';
import { MemoryStore } from '../../src/index.js';

/** A memory store whose every read, write and remove completes when fast-check's scheduler says so. */
export class ScheduledStore extends MemoryStore {
  constructor(private readonly s: fc.Scheduler) {
    super();
  }
  override async read(id: string): Promise<string | undefined> {
    await this.s.schedule(Promise.resolve(), `read ${id}`);
    return super.read(id);
  }
  override async write(id: string, text: string): Promise<void> {
    await this.s.schedule(Promise.resolve(), `write ${id}`);
    return super.write(id, text);
  }
  override async remove(id: string): Promise<void> {
    await this.s.schedule(Promise.resolve(), `remove ${id}`);
    return super.remove(id);
  }
}
