import { createServer } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createHttpHandler, toNodeListener } from '../src/http/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { type Listening, listen } from './http/support.js';
import { haveBrowser, launchChromium } from './support/browser.js';

describe.skipIf(!haveBrowser)('dashboard when the server refuses its event stream', () => {
  let registry: TestRegistry<typeof demoMachines>;
  let server: Listening;
  let browser: Browser;

  beforeAll(async () => {
    registry = await createTestRegistry({ machines: demoMachines });
    await registry.spawnSingleton('approval', 'busy/one');
    server = await listen(
      createServer(toNodeListener(createHttpHandler(registry, { maxEventStreams: 1 }))),
    );
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await registry?.close();
  });

  it('says so, and goes live by itself once a slot is free (EventSource alone gives up on a 503)', async () => {
    const first = await browser.newPage();
    await first.goto(`${server.base}/`);
    await first.locator('#live', { hasText: 'live' }).waitFor();

    const second = await browser.newPage();
    await second.goto(`${server.base}/`);
    await second.locator('#live', { hasText: 'refused by the server' }).waitFor();

    // The first tab goes away: its stream's slot is given back, and the second retries into it.
    await first.close();
    await second.locator('#live', { hasText: /^live$/ }).waitFor({ timeout: 20_000 });
    await second.locator('tr[data-id="busy/one"]').waitFor();
  }, 60_000);
});
