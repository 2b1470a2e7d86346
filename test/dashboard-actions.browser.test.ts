import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoMachines } from '../examples/machines.js';
import { createHttpHandler, type HttpAction, toNodeListener } from '../src/http/index.js';
import { createRegistry, MemoryStore, type Registry } from '../src/index.js';
import { type Listening, listen } from './http/support.js';
import { ARTIFACTS, haveBrowser, launchChromium } from './support/browser.js';

describe.skipIf(!haveBrowser)(
  'dashboard: filters, paging, the instance page and its actions',
  () => {
    let registry: Registry<typeof demoMachines>;
    let server: Listening;
    let base: string;
    let browser: Browser;
    /** Actions `authorize` refuses, set per test. */
    const denied = new Set<HttpAction>();
    const authorized: HttpAction[] = [];

    beforeAll(async () => {
      // One stored record no machine can load: set aside at start, listed on the dashboard.
      const store = new MemoryStore();
      store.inject('broken/1', '{"id":"broken/1","format":"xstate-registry/2"');
      registry = createRegistry({ machines: demoMachines, store, history: {} });
      registry.on('error', () => {});
      await registry.start();
      const handler = createHttpHandler(registry, {
        authorize: (_request, action) => {
          authorized.push(action);
          return !denied.has(action);
        },
      });
      server = await listen(createServer(toNodeListener(handler)));
      base = server.base;
      browser = await launchChromium();
      mkdirSync(ARTIFACTS, { recursive: true });
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await registry?.close();
    });

    async function instancePage(id: string): Promise<Page> {
      const page = await browser.newPage();
      await page.goto(`${base}/#/i/${encodeURIComponent(id)}`);
      await page.locator('#i-status').waitFor();
      return page;
    }
    /** Clicks `button`, answering its confirmation with `answer`; waits for the outcome line. */
    async function click(page: Page, button: string, answer: 'accept' | 'dismiss') {
      let asked = '';
      page.once('dialog', (d) => {
        asked = d.message();
        void (answer === 'accept' ? d.accept() : d.dismiss());
      });
      await page.evaluate("document.getElementById('a-result').textContent = ''");
      await page.locator(button).click();
      // Attached, not visible: a purge returns to the list, hiding the instance page.
      await page.locator('#a-result').filter({ hasText: /./ }).waitFor({ state: 'attached' });
      expect(asked).not.toBe('');
      return (await page.locator('#a-result').textContent()) ?? '';
    }

    it('shows timers due past any date, or never, instead of failing to render the page', async () => {
      // Before, new Date(dueAt).toISOString() threw and the page stayed on "Loading…".
      await registry.spawnSingleton('job', 'far/1e20', { input: { stepMs: 1e20 } });
      await registry.spawnSingleton('job', 'far/never', {
        input: { stepMs: Number.POSITIVE_INFINITY },
      });
      const far = await instancePage('far/1e20');
      expect(await far.locator('#i-timers').textContent()).toMatch(
        /due at 1\d{20} ms, past any date/,
      );
      await far.close();
      const never = await instancePage('far/never');
      expect(await never.locator('#i-timers').textContent()).toContain('due never');
      await never.close();
    });

    it('filters by status, type and ID prefix on the server, counts per status, and pages', async () => {
      for (let i = 0; i < 55; i++)
        await registry.spawnSingleton('approval', `pg/${String(i).padStart(2, '0')}`);
      await registry.spawnSingleton('job', 'pg/job', { input: { steps: 1, stepMs: 3_600_000 } });
      await registry.send('pg/00', { type: 'APPROVE', by: 'ada' });
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.locator('#live', { hasText: 'live' }).waitFor();
      await page.locator('#f-prefix').fill('pg/');
      await page.locator('#f-type').fill('approval');
      await page.locator('#filters button[type=submit]').click();
      await page.locator('.count.all b', { hasText: '55' }).waitFor();
      expect(await page.locator('.count.running b').textContent()).toBe('54');
      expect(await page.locator('.count.done b').textContent()).toBe('1');
      await page.locator('#rows tr[data-id]').nth(49).waitFor();
      expect(await page.locator('#rows tr[data-id]').count()).toBe(50);
      // Newest-updated first: the approved one tops the list.
      expect(await page.locator('#rows tr[data-id]').first().getAttribute('data-id')).toBe('pg/00');
      // The quarantined record, with its reason.
      const aside = page.locator('#quarantined tr[data-key="broken/1"]');
      await aside.waitFor();
      expect(await aside.textContent()).toContain('CORRUPT_RECORD');
      await page.screenshot({ path: `${ARTIFACTS}/dashboard-list.png`, fullPage: true });
      await page.locator('#next').click();
      await page.locator('#page', { hasText: 'page 2' }).waitFor();
      await page.locator('#rows tr[data-id]').nth(4).waitFor();
      expect(await page.locator('#rows tr[data-id]').count()).toBe(5);
      await page.locator('#prev').click();
      await page.locator('#rows tr[data-id]').nth(49).waitFor();
      // A status chip filters too; the job never shows under type 'approval'.
      await page.locator('.count.done').click();
      await page.locator('#rows tr[data-id]').first().waitFor();
      await expect.poll(() => page.locator('#rows tr[data-id]').count()).toBe(1);
      expect(await page.locator('tr[data-id="pg/job"]').count()).toBe(0);
      // Live, with the filter: a new match appears on top, one that leaves the filter goes.
      await registry.send('pg/01', { type: 'REJECT', by: 'bob' });
      await page.locator('#rows tr[data-id]').nth(1).waitFor();
      expect(await page.locator('#rows tr[data-id]').first().getAttribute('data-id')).toBe('pg/01');
      await page.close();
    }, 60_000);

    it('shows state, context, output, stop reason and the history note on the instance page', async () => {
      await registry.spawnSingleton('approval', 'show/1 ü', { input: { subject: 'laptop' } });
      const page = await instancePage('show/1 ü');
      expect(await page.locator('#i-status').textContent()).toBe('running');
      expect(await page.locator('#i-state').textContent()).toContain('"pending"');
      expect(await page.locator('#i-context').textContent()).toContain('"laptop"');
      // Pending timers (the approval's one-day expiry) and children (none), from the richer status.
      expect(await page.locator('#i-timers').textContent()).toContain('xstate.after');
      expect(await page.locator('section', { hasText: 'Children' }).textContent()).toContain(
        'None.',
      );
      await page.locator('#i-history').filter({ hasText: /./ }).waitFor();
      await page.screenshot({ path: `${ARTIFACTS}/dashboard-instance.png`, fullPage: true });
      // Live: the page follows the instance without reloading.
      await registry.stop('show/1 ü', 'maintenance window');
      await page.locator('#i-stop-reason', { hasText: 'maintenance window' }).waitFor();
      expect(await page.locator('#i-status').textContent()).toBe('stopped');
      await page.close();
      await registry.spawnSingleton('job', 'show/job', { input: { steps: 1, stepMs: 10 } });
      await registry.waitFor('show/job', (s) => s.status === 'done');
      const done = await instancePage('show/job');
      expect(await done.locator('#i-output').textContent()).toContain('stepsDone: 1');
      await done.close();
    }, 60_000);

    it('sends an event from the JSON editor: confirmed, cancelled, and denied by authorize', async () => {
      for (const id of ['send/ok', 'send/cancel', 'send/denied'])
        await registry.spawnSingleton('approval', id);
      const event = '{ "type": "APPROVE", "by": "dashboard" }';

      const ok = await instancePage('send/ok');
      await ok.locator('#a-event').fill(event);
      expect(await click(ok, '#a-send', 'accept')).toMatch(/^Done/);
      await ok.locator('#i-status', { hasText: 'done' }).waitFor();
      // The history timeline shows the event, sent over HTTP, and the state it left.
      const entry = ok.locator('#i-history li', { hasText: 'APPROVE' });
      await entry.waitFor();
      expect(await entry.textContent()).toMatch(/http.*APPROVE.*"pending".*"approved"/);
      expect((await registry.getStatus('send/ok'))?.context).toMatchObject({
        decidedBy: 'dashboard',
      });

      const cancel = await instancePage('send/cancel');
      await cancel.locator('#a-event').fill(event);
      expect(await click(cancel, '#a-send', 'dismiss')).toBe('Cancelled.');
      expect((await registry.getStatus('send/cancel'))?.status).toBe('running');

      denied.add('send');
      authorized.length = 0;
      const deny = await instancePage('send/denied');
      await deny.locator('#a-event').fill(event);
      expect(await click(deny, '#a-send', 'accept')).toMatch(/^FORBIDDEN/);
      expect(authorized).toContain('send');
      expect((await registry.getStatus('send/denied'))?.status).toBe('running');
      denied.clear();

      await deny.locator('#a-event').fill('{ "type": ');
      await deny.locator('#a-send').click();
      await deny.locator('#a-result', { hasText: 'not valid JSON' }).waitFor();
      for (const p of [ok, cancel, deny]) await p.close();
    }, 60_000);

    it('stops: confirmed (with a reason), cancelled, and denied by authorize', async () => {
      for (const id of ['stop/ok', 'stop/cancel', 'stop/denied'])
        await registry.spawnSingleton('approval', id);
      const ok = await instancePage('stop/ok');
      await ok.locator('#a-reason').fill('by hand');
      expect(await click(ok, '#a-stop', 'accept')).toMatch(/^Done/);
      expect(await registry.getStatus('stop/ok')).toMatchObject({
        status: 'stopped',
        stopReason: 'by hand',
      });

      const cancel = await instancePage('stop/cancel');
      expect(await click(cancel, '#a-stop', 'dismiss')).toBe('Cancelled.');
      expect((await registry.getStatus('stop/cancel'))?.status).toBe('running');

      denied.add('stop');
      const deny = await instancePage('stop/denied');
      expect(await click(deny, '#a-stop', 'accept')).toMatch(/^FORBIDDEN/);
      expect((await registry.getStatus('stop/denied'))?.status).toBe('running');
      denied.clear();
      for (const p of [ok, cancel, deny]) await p.close();
    }, 60_000);

    it('purges: confirmed (a running one, forced), cancelled, and denied by authorize', async () => {
      for (const id of ['purge/ok', 'purge/cancel', 'purge/denied'])
        await registry.spawnSingleton('approval', id);
      const ok = await instancePage('purge/ok');
      expect(await click(ok, '#a-purge', 'accept')).toMatch(/^Done/);
      expect(await registry.getStatus('purge/ok')).toBeUndefined();
      await ok.locator('#list-view').waitFor();

      const cancel = await instancePage('purge/cancel');
      expect(await click(cancel, '#a-purge', 'dismiss')).toBe('Cancelled.');
      expect((await registry.getStatus('purge/cancel'))?.status).toBe('running');

      denied.add('purge');
      const deny = await instancePage('purge/denied');
      expect(await click(deny, '#a-purge', 'accept')).toMatch(/^FORBIDDEN/);
      expect((await registry.getStatus('purge/denied'))?.status).toBe('running');
      denied.clear();
      for (const p of [ok, cancel, deny]) await p.close();
    }, 60_000);
  },
);
