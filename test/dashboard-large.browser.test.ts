/**
 * An instance whose status is larger than the event stream's buffer (256 KiB):
 * each change reaches the instance page as a reload notice, and the page reads
 * the status itself. Before, the stream was cut at every change; then (found by
 * review) the page read the whole status at every notice, and a read still in
 * flight when the page moved to another instance was shown as that one.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { eventStreamStats } from '../src/http/index.js';
import { createRegistry, type Registry } from '../src/index.js';
import { type Listening, serve } from './http/support.js';
import { haveBrowser, launchChromium } from './support/browser.js';

const keeper = setup({
  types: { context: {} as { data: string }, events: {} as { type: 'SET'; data: string } },
}).createMachine({
  id: 'keeper',
  context: { data: '' },
  on: { SET: { actions: assign({ data: ({ event }) => event.data }) } },
});
const big = (label: string) => label.padEnd(300 * 1024, '.');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!haveBrowser)(
  'the instance page of an instance larger than the stream buffer',
  () => {
    let registry: Registry<{ keeper: typeof keeper }>;
    let server: Listening;
    let browser: Browser;
    beforeAll(async () => {
      registry = createRegistry({ machines: { keeper } });
      await registry.start();
      server = await serve(registry);
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await registry?.close();
    });

    it('follows its changes on one stream, reads it at most once a second, and never shows it as another instance', async () => {
      await registry.spawnSingleton('keeper', 'big');
      await registry.spawnSingleton('keeper', 'small');
      await registry.send('small', { type: 'SET', data: 'SMALL' });
      const page = await browser.newPage();
      const reads: string[] = [];
      page.on('request', (r) => reads.push(new URL(r.url()).pathname));
      await page.goto(`${server.base}/#/i/big`);
      await page.locator('#live', { hasText: 'live' }).waitFor();
      const dropped = eventStreamStats().dropped;

      await registry.send('big', { type: 'SET', data: big('FIRST') });
      await page.locator('#i-context', { hasText: 'FIRST' }).waitFor();
      // A change every 50 ms for 1 s: 20 notices.
      reads.length = 0;
      const began = Date.now();
      for (let i = 0; i < 20; i++) {
        await registry.send('big', { type: 'SET', data: big(`BIG${i}`) });
        await pause(50);
      }
      await page.locator('#i-context', { hasText: 'BIG19' }).waitFor();
      // One read a second at most (and the one a notice queues): a loaded machine
      // stretches the second, so the bound is the seconds taken, not one.
      const seconds = Math.ceil((Date.now() - began) / 1000);
      expect(reads.filter((p) => p === '/instances/big').length).toBeLessThanOrEqual(seconds + 2);
      expect(eventStreamStats().dropped).toBe(dropped);

      // Moving to another instance while the big one keeps changing.
      const busy = (async () => {
        for (let i = 0; i < 10; i++) {
          await registry.send('big', { type: 'SET', data: big(`LATE${i}`) });
          await pause(50);
        }
      })();
      await pause(200);
      await page.evaluate("location.hash = '#/i/small'");
      await busy;
      await page.locator('#i-context', { hasText: 'SMALL' }).waitFor();
      await pause(1500); // any read of the big one still in flight has landed by now
      expect(await page.locator('#i-id').textContent()).toBe('small');
      expect(await page.locator('#i-context').textContent()).toContain('SMALL');
      expect(await page.evaluate('current && current.id')).toBe('small');
      await page.close();
    }, 60_000);
  },
);
