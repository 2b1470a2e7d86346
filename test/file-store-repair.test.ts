import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry, FileStore, type RegistryError } from '../src/index.js';
import { machines } from './fixtures.js';
import { tempDir } from './helpers.js';

describe('a missing instances/ directory', () => {
  it('deleted while running: recreated, reported, later writes succeed and nothing is lost at restart', async () => {
    const dir = await tempDir();
    const registry = createRegistry({ machines, store: new FileStore({ dir }) });
    const errors: RegistryError[] = [];
    registry.on('error', (e) => errors.push(e));
    await registry.start();
    await registry.spawnSingleton('counter', 'a');
    await registry.spawnSingleton('counter', 'b');
    await registry.send('b', { type: 'INC' });
    await registry.spawnSingleton('counter', 'done');
    await registry.send('done', { type: 'FINISH' });
    await registry.flush();

    await rm(join(dir, 'instances'), { recursive: true });
    await registry.send('a', { type: 'INC' });
    await registry.spawnSingleton('counter', 'c');
    await registry.flush();
    expect(errors.map((e) => e.code)).toContain('STORE_REPAIRED');
    await registry.send('a', { type: 'INC' });
    await registry.close();

    const again = createRegistry({ machines, store: new FileStore({ dir }) });
    const summary = await again.start();
    expect(summary.quarantined).toEqual([]);
    expect(again.get('a')?.getSnapshot().context.count).toBe(2);
    expect(again.get('b')?.getSnapshot().context.count).toBe(1);
    expect(again.get('c')).toBeDefined();
    expect(await again.getStatus('done')).toMatchObject({ status: 'done' });
    await again.close();
  });
});
