import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createRegistry, type Registry } from '../src/index.js';
import { type Listening, serve } from './http/support.js';
import { CHROMIUM, haveBrowser, launchChromium } from './support/browser.js';

describe.skipIf(!haveBrowser)(`dashboard in headless Chromium (${CHROMIUM})`, () => {
  let registry: Registry<typeof demoMachines>;
  let server: Listening;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    registry = createRegistry({ machines: demoMachines });
    await registry.start();
    server = await serve(registry);
    base = server.base;
    browser = await launchChromium([
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await registry?.close();
  });

  it('shows a newly started instance appear and its state change', async () => {
    await registry.spawnSingleton('approval', 'already-there');
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.locator('tr[data-id="already-there"]').waitFor();
    await page.locator('#live', { hasText: 'live' }).waitFor();

    await registry.spawnSingleton('approval', 'po/42 ünï', { input: { subject: 'laptop' } });
    const row = page.locator('tr[data-id="po/42 ünï"]');
    await row.waitFor();
    expect(await row.locator('.status').textContent()).toBe('running');
    expect(await row.locator('.state').textContent()).toBe('"pending"');

    await registry.send('po/42 ünï', { type: 'APPROVE', by: 'ada' });
    await row.locator('.state', { hasText: '"approved"' }).waitFor();
    expect(await row.locator('.status').textContent()).toBe('done');

    await registry.purge('po/42 ünï');
    await row.waitFor({ state: 'detached' });
    await page.close();
  });
});
