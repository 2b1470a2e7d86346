/**
 * Every open event stream read the registry's counts for its filter at every
 * batch, even when nothing it counts had changed, and each stream read its
 * own: 300 idle tabs on an ID prefix made 300 walks of the prefix's instances
 * per batch, and a request waited seconds. Counts are now read once per batch
 * per count filter, and not at all when none of the instances counted changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../../examples/machines.js';
import { createRegistry, type Registry } from '../../src/index.js';
import { type Listening, serve } from './support.js';

const STREAMS = 20;

describe('event streams and counts', () => {
  let registry: Registry<typeof demoMachines>;
  let server: Listening;
  /** The idPrefix of every counts() read (null for none). */
  const reads: (string | null)[] = [];
  beforeAll(async () => {
    registry = createRegistry({ machines: demoMachines });
    await registry.start();
    const counts = registry.counts.bind(registry);
    // Observes (does not change) the reads.
    registry.counts = ((filter?: { idPrefix?: string }) => {
      reads.push(filter?.idPrefix ?? null);
      return counts(filter as never);
    }) as typeof registry.counts;
    server = await serve(registry);
  });
  afterAll(async () => {
    await server.close();
    await registry.close();
  });

  /** Opens a stream and returns a function resolving with its first message that `match` accepts. */
  async function open(path: string) {
    const controller = new AbortController();
    const res = await fetch(server.base + path, { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // `retry:`: subscribed
    let text = '';
    const next = async (match: (m: any) => boolean): Promise<any> => {
      for (;;) {
        let end = text.indexOf('\n\n');
        while (end >= 0) {
          const chunk = text.slice(0, end);
          text = text.slice(end + 2);
          if (chunk.startsWith('data: ')) {
            const message = JSON.parse(chunk.slice(6));
            if (match(message)) return message;
          }
          end = text.indexOf('\n\n');
        }
        text += new TextDecoder().decode((await reader.read()).value);
      }
    };
    return { next, close: () => controller.abort() };
  }

  it('are read once per batch for all tabs with one filter, and not when nothing counted changed', async () => {
    await registry.spawnSingleton('approval', 'p/1');
    await registry.spawnSingleton('approval', 'x/1');
    const tabs = await Promise.all(
      Array.from({ length: STREAMS }, () => open('/events?idPrefix=p%2F&status=error')),
    );
    const all = await open('/events');
    try {
      reads.length = 0;
      // A change outside the prefix: the unfiltered tab sees it; the prefix's counts are not read.
      await registry.send('x/1', { type: 'APPROVE', by: 'ada' });
      await all.next((m) => m.changed?.some((s: any) => s.id === 'x/1'));
      expect(reads.filter((p) => p === 'p/')).toEqual([]);
      // A change under the prefix: every tab gets counts, read once for all of them.
      await registry.send('p/1', { type: 'APPROVE', by: 'ada' });
      const got = await Promise.all(tabs.map((t) => t.next((m) => m.counts !== undefined)));
      expect(got.every((m) => m.counts.done === 1)).toBe(true);
      expect(reads.filter((p) => p === 'p/')).toEqual(['p/']);
    } finally {
      for (const t of tabs) t.close();
      all.close();
    }
  });
});
