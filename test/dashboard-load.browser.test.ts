import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createHttpHandler, toNodeListener } from '../src/http/index.js';
import { createTestRegistry, type TestRegistry } from '../src/testing/index.js';
import { type Listening, listen } from './http/support.js';
import { ARTIFACTS, haveBrowser, launchChromium } from './support/browser.js';

describe.skipIf(!haveBrowser)('dashboard under load: 300 ticking instances, two tabs', () => {
  let registry: TestRegistry<typeof demoMachines>;
  let server: Listening;
  let base: string;
  let browser: Browser;
  /** Requests the server received, but the long-lived event streams. */
  let served = 0;

  beforeAll(async () => {
    registry = await createTestRegistry({ machines: demoMachines });
    for (let i = 0; i < 300; i++)
      await registry.spawnSingleton('heartbeat', `hb-${String(i).padStart(3, '0')}`, {
        input: { intervalMs: 100 },
      });
    const handler = createHttpHandler(registry);
    server = await listen(
      createServer(
        toNodeListener(async (request) => {
          if (!new URL(request.url).pathname.startsWith('/events')) served++;
          return handler(request);
        }),
      ),
    );
    base = server.base;
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await registry?.close();
  });

  it('each tab stays live at a bounded request rate: statuses arrive in the stream', async () => {
    const tabs: Array<{ page: Page; requests: number }> = [];
    for (let t = 0; t < 2; t++) {
      const tab = { page: await browser.newPage(), requests: 0 };
      tab.page.on('request', (r) => {
        if (!r.url().includes('/events')) tab.requests++;
      });
      await tab.page.goto(`${base}/`);
      await tab.page.locator('#live', { hasText: 'live' }).waitFor();
      await tab.page.locator('tr[data-id]').first().waitFor();
      tabs.push(tab);
    }
    const beatsShown = async (page: Page) =>
      Number(
        /"beats":(\d+)/.exec((await page.locator('#rows tr').first().textContent()) ?? '')?.[1],
      );
    for (const tab of tabs) tab.requests = 0;
    served = 0;
    const started = performance.now();
    // 30 rounds of 300 transitions (every heartbeat beats once per simulated 100 ms).
    for (let round = 0; round < 30; round++) {
      await registry.clock.increment(100);
      await sleep(60);
    }
    // Both tabs show the newest beats without asking for them.
    for (const tab of tabs)
      await tab.page.locator('#rows tr', { hasText: '"beats":30' }).first().waitFor();
    const seconds = (performance.now() - started) / 1000;
    for (const tab of tabs) {
      // Each tab's rate: the old dashboard asked for every changed instance (~300/s here).
      expect(
        tab.requests / seconds,
        `${tab.requests} requests in ${seconds.toFixed(1)} s`,
      ).toBeLessThan(1);
    }
    expect(served / seconds).toBeLessThan(2);
    await tabs[0]?.page.screenshot({ path: `${ARTIFACTS}/dashboard-load.png`, fullPage: true });
    for (const tab of tabs) {
      expect(await beatsShown(tab.page)).toBe(30);
      expect(await tab.page.locator('#rows tr').count()).toBe(50);
      expect(await tab.page.locator('.count.all b').textContent()).toBe('300');
      await tab.page.close();
    }
  }, 120_000);
});
