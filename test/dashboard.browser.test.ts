import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createHttpHandler, toNodeListener } from '../src/http/index.js';
import { createRegistry, type Registry } from '../src/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); a developer machine without it skips with a reason.
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`CI must provide Chromium at ${CHROMIUM}`);

describe.skipIf(!haveBrowser)(`dashboard in headless Chromium (${CHROMIUM})`, () => {
  let registry: Registry<typeof demoMachines>;
  let server: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    registry = createRegistry({ machines: demoMachines });
    await registry.start();
    server = createServer(toNodeListener(createHttpHandler(registry)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
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
